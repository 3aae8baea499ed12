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

/** How a passkey can live: on one device only, or synced (the BE flag, fixed at registration). */
export type PasskeyDeviceType = 'singleDevice' | 'multiDevice';

/** A registered passkey (a WebAuthn public-key credential). Nothing in it is a secret. */
export interface PasskeyRecord {
  /** The credential ID, base64url, as the browser reports it. */
  id: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  /** The signature counter last seen (0: the authenticator keeps none). */
  counter: number;
  /** The transports reported at registration (known names only): a hint for the browser. */
  transports: string[];
  /** From the BE flag at registration; it never changes for a credential (WebAuthn 6.1.3). */
  deviceType: PasskeyDeviceType;
  /** The BS flag as last seen: whether the passkey is backed up (synced) right now. */
  backedUp: boolean;
  /** The user's name for it, 1–64 visible characters. */
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface SecondFactorDocument {
  v: 1;
  totp: TotpFactor | null;
  enrolment: TotpEnrolment | null;
  /** SHA-256 hashes of the unused recovery codes. */
  recoveryCodes: string[];
  recoveryLink: RecoveryLinkState | null;
  /** The user's passkeys (missing in documents written before passkeys: read as none). */
  passkeys: PasskeyRecord[];
}

export const emptyDocument = (): SecondFactorDocument => ({
  v: 1,
  totp: null,
  enrolment: null,
  recoveryCodes: [],
  recoveryLink: null,
  passkeys: [],
});

/** The document without any factor (TOTP, enrolment, passkeys, codes); a recovery link stays. */
export const withoutFactor = (doc: SecondFactorDocument): SecondFactorDocument => ({
  ...doc,
  totp: null,
  enrolment: null,
  recoveryCodes: [],
  passkeys: [],
});

/**
 * The document without TOTP (and an enrolment in progress). The passkeys stay, and so do the
 * recovery codes while a passkey remains: they are that passkey's way back in.
 */
export const withoutTotp = (doc: SecondFactorDocument): SecondFactorDocument => ({
  ...doc,
  totp: null,
  enrolment: null,
  recoveryCodes: doc.passkeys.length > 0 ? doc.recoveryCodes : [],
});

/** Whether the document holds a factor a recovery code stands in for: TOTP or a passkey. */
export const hasFactor = (doc: SecondFactorDocument): boolean => doc.totp !== null || doc.passkeys.length > 0;

/** The stored text (`null` when there is nothing to keep). */
export function serializeDocument(doc: SecondFactorDocument): string | null {
  if (
    !doc.totp &&
    !doc.enrolment &&
    doc.recoveryCodes.length === 0 &&
    !doc.recoveryLink &&
    doc.passkeys.length === 0
  )
    return null;
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
const passkeyOk = (v: unknown) =>
  isObject(v) &&
  isText(v.id) &&
  isText(v.publicKey) &&
  isNumber(v.counter) &&
  Array.isArray(v.transports) &&
  v.transports.every(isText) &&
  (v.deviceType === 'singleDevice' || v.deviceType === 'multiDevice') &&
  typeof v.backedUp === 'boolean' &&
  isText(v.name) &&
  isNumber(v.createdAt) &&
  (v.lastUsedAt === null || isNumber(v.lastUsedAt));
const passkeysOk = (v: unknown) => v === undefined || (Array.isArray(v) && v.every(passkeyOk));

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
    !linkOk(value.recoveryLink) ||
    !passkeysOk(value.passkeys)
  ) {
    throw new Error('a stored second-factor document is unreadable (version or shape unknown)');
  }
  // Documents from before passkeys have no list: still version 1, with no passkeys.
  return { ...value, passkeys: value.passkeys ?? [] } as unknown as SecondFactorDocument;
}

/**
 * Whether the stored text (`UserRecord.secondFactor`) holds a second factor: TOTP, or at least
 * one passkey. Such a user signs in in two steps and re-authenticates with more than a password.
 * @example
 * if (hasSecondFactor(user.secondFactor)) showTwoStepBadge();
 */
export function hasSecondFactor(text: string | null | undefined): boolean {
  if (!text) return false;
  const known = factorMemo.get(text);
  if (known !== undefined) return known;
  const has = hasFactor(parseDocument(text));
  if (factorMemo.size >= FACTOR_MEMO_SIZE) factorMemo.clear();
  factorMemo.set(text, has);
  return has;
}

/*
 * `toUser` asks {@link hasSecondFactor} on every authenticated request, and a document with a few
 * passkeys takes microseconds to parse and check (tens with twenty). The answer depends on the
 * text alone, so it is remembered by the text: a user store's read cache hands back the same
 * string, and a hit is one Map lookup. Bounded (a few MB at most); cleared when full. An
 * unreadable document throws every time, as before.
 */
const FACTOR_MEMO_SIZE = 256;
const factorMemo = new Map<string, boolean>();
