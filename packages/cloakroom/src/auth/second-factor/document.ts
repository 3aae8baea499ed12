/*
 * The second-factor document: `UserRecord.secondFactor`, JSON text that only this module reads
 * and writes. It lives in the user store, which every instance shares, so what is single use in
 * it (a TOTP step, a recovery code, a recovery link) is single use everywhere: every change is a
 * compare-and-set on the exact text read (see `change.ts`).
 */

/** An enrolled TOTP factor. */
export interface TotpFactor {
  /** The key, sealed by the secret box. */
  secret: string;
  enrolledAt: number;
  /** The last time step accepted: a code of this step or an earlier one is refused (replay). */
  lastStep: number;
}

/** An enrolment begun and not yet confirmed with a code. */
export interface TotpEnrolment {
  secret: string;
  startedAt: number;
}

/** A recovery link an admin or operator issued; the token itself is never stored. */
export interface RecoveryLinkState {
  /** SHA-256 of the token's random part. */
  hash: string;
  expiresAt: number;
  /** SHA-256 of the password hash it was issued under: once the password changes, the link is void. */
  passwordFingerprint: string;
  clearSecondFactor: boolean;
  issuedBy: string;
  issuedAt: number;
}

export interface SecondFactorDocument {
  v: 1;
  totp: TotpFactor | null;
  enrolment: TotpEnrolment | null;
  /** SHA-256 hashes of the unused recovery codes. */
  recoveryCodes: string[];
  recoveryLink: RecoveryLinkState | null;
}

export const emptyDocument = (): SecondFactorDocument => ({
  v: 1,
  totp: null,
  enrolment: null,
  recoveryCodes: [],
  recoveryLink: null,
});

/** The document without its factor (TOTP, enrolment, codes); a recovery link stays. */
export const withoutFactor = (doc: SecondFactorDocument): SecondFactorDocument => ({
  ...doc,
  totp: null,
  enrolment: null,
  recoveryCodes: [],
});

/** The stored text (`null` when there is nothing to keep). */
export function serializeDocument(doc: SecondFactorDocument): string | null {
  if (!doc.totp && !doc.enrolment && doc.recoveryCodes.length === 0 && !doc.recoveryLink) return null;
  return JSON.stringify(doc);
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isText = (v: unknown): v is string => typeof v === 'string';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

const totpOk = (v: unknown) =>
  v === null || (isObject(v) && isText(v.secret) && isNumber(v.enrolledAt) && isNumber(v.lastStep));
const enrolmentOk = (v: unknown) => v === null || (isObject(v) && isText(v.secret) && isNumber(v.startedAt));
const linkOk = (v: unknown) =>
  v === null ||
  (isObject(v) &&
    isText(v.hash) &&
    isNumber(v.expiresAt) &&
    isText(v.passwordFingerprint) &&
    typeof v.clearSecondFactor === 'boolean' &&
    isText(v.issuedBy) &&
    isNumber(v.issuedAt));

/**
 * Reads the stored text (`null`: nothing stored). An unreadable document throws: treating it as
 * "no second factor" would let a corrupted row switch a user's second factor off (fail closed).
 */
export function parseDocument(text: string | null | undefined): SecondFactorDocument {
  if (!text) return emptyDocument();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = null;
  }
  if (
    !isObject(value) ||
    value.v !== 1 ||
    !totpOk(value.totp) ||
    !enrolmentOk(value.enrolment) ||
    !Array.isArray(value.recoveryCodes) ||
    !value.recoveryCodes.every(isText) ||
    !linkOk(value.recoveryLink)
  ) {
    throw new Error('a stored second-factor document is unreadable (version or shape unknown)');
  }
  return value as unknown as SecondFactorDocument;
}

/** Whether the stored text holds an enrolled TOTP factor. */
export function isTotpEnrolled(text: string | null | undefined): boolean {
  return parseDocument(text).totp !== null;
}
