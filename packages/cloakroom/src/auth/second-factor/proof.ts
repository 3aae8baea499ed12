import { systemClock } from '../../core/clock.js';
import type { IncomingRequest } from '../../core/request.js';
import type { AccountDeps, AccountFailure } from '../accounts/deps.js';
import { invalid } from '../accounts/deps.js';
import type { UserRecord } from '../types.js';
import { changeDocument } from './change.js';
import { hasFactor, type SecondFactorDocument } from './document.js';
import type { SecondFactor } from './factor.js';
import { findHash, hashRecoveryCode, normalizeRecoveryCode } from './recovery-codes.js';
import { matchTotp, normalizeTotpCode } from './totp.js';

/** What a client sends as its second factor: one of the two. */
export interface CodeInput {
  code?: unknown;
  recoveryCode?: unknown;
}

/** A second-factor proof as sent: a TOTP code or a recovery code (already canonical when well-formed). */
export type Proof = { kind: 'totp'; code: string | null } | { kind: 'recovery-code'; code: string | null };

export const invalidCode: AccountFailure = {
  ok: false,
  error: 'invalid_code',
  message: 'That code is wrong or was used already.',
};

export const notEnrolled: AccountFailure = {
  ok: false,
  error: 'not_enrolled',
  message: 'Two-step sign-in is not turned on for this account.',
};

/**
 * Reads the proof from the input: `null` when neither is sent, an `invalid` failure when the shape
 * is wrong (not text, or both). A code that is text but cannot be a code is kept as `code: null`:
 * it is a wrong code, and counts as one.
 */
export function readProof(input: CodeInput): Proof | null | AccountFailure {
  const { code, recoveryCode } = input;
  const has = (v: unknown) => v !== undefined && v !== null && v !== '';
  if ((has(code) && typeof code !== 'string') || (has(recoveryCode) && typeof recoveryCode !== 'string')) {
    return invalid('code', 'Send code or recoveryCode as text.');
  }
  if (has(code) && has(recoveryCode)) return invalid('code', 'Send either code or recoveryCode, not both.');
  if (typeof code === 'string' && code !== '') return { kind: 'totp', code: normalizeTotpCode(code) };
  if (typeof recoveryCode === 'string' && recoveryCode !== '') {
    return { kind: 'recovery-code', code: normalizeRecoveryCode(recoveryCode) };
  }
  return null;
}

/** The factor, or a TypeError: a use case that needs it was called without it (misuse). */
export function requireSecondFactor(deps: AccountDeps): SecondFactor {
  if (!deps.secondFactor) {
    throw new TypeError(
      'this account action needs deps.secondFactor (createSecondFactor({ secrets, counters }))',
    );
  }
  return deps.secondFactor;
}

/**
 * The counter key under which code attempts are throttled (`deps.throttle`, the sign-in
 * throttle: same limits, same escalation, same store). It starts with a space, which no
 * canonical username can (`normalizeUsername` trims), so it never shares a bucket with a real
 * account — and a second throttle on the same counter store would use the very same keys.
 */
export const codeThrottleKey = (userId: string): string => ` second-factor:${userId}`;

/** Opens the stored TOTP key; a key that no secret of the keyring opens is an operator's problem. */
export function openKey(factor: SecondFactor, sealed: string, userId: string): Uint8Array {
  const key = factor.box.open(sealed, userId);
  if (!key) {
    throw new Error(
      "a TOTP secret cannot be decrypted: the keyring secret it was sealed with was removed (put it back, or reset the user's second factor)",
    );
  }
  return key;
}

/**
 * The document with the proof used up, or `null` if the proof does not hold. A recovery code
 * stands in for any factor (TOTP or a passkey); a TOTP code needs TOTP.
 */
export function consume(
  factor: SecondFactor,
  user: UserRecord,
  doc: SecondFactorDocument,
  proof: Proof,
  now: number,
): SecondFactorDocument | null {
  if (!hasFactor(doc) || proof.code === null) return null;
  if (proof.kind === 'recovery-code') {
    const index = findHash(doc.recoveryCodes, hashRecoveryCode(proof.code));
    if (index === -1) return null;
    return { ...doc, recoveryCodes: doc.recoveryCodes.filter((_, i) => i !== index) };
  }
  if (!doc.totp) return null;
  const step = matchTotp(openKey(factor, doc.totp.secret, user.id), proof.code, now);
  // A step at or before the last one accepted is a replay (RFC 6238 section 5.2).
  if (step === null || step <= doc.totp.lastStep) return null;
  // Written anyway (the step): a key sealed before a secret rotation moves to the newest secret.
  const secret = factor.box.reseal(doc.totp.secret, user.id) ?? doc.totp.secret;
  return { ...doc, totp: { ...doc.totp, secret, lastStep: step } };
}

/** Options of {@link proveSecondFactor}. */
export interface ProveOptions {
  /** A refusal decided on the user as read, before the code is looked at (locked, epoch moved). */
  refuseUser?: (user: UserRecord) => AccountFailure | null;
  /** A further change written in the same compare-and-set as the code's use (turning it off). */
  alsoChange?: (doc: SecondFactorDocument) => SecondFactorDocument;
}

/** A proof that held, and was used up. */
export interface Proven {
  ok: true;
  user: UserRecord;
  method: Proof['kind'];
  recoveryCodesLeft: number;
}

/**
 * Checks a second-factor proof for a user and uses it up, atomically: a TOTP step or a recovery
 * code is accepted once, on every instance. Attempts are throttled per account in the counter
 * store (a wrong code counts as a failure; a right one clears the count), and a wrong one is
 * audited as `second-factor.failure` (never with the code).
 */
export async function proveSecondFactor(
  deps: AccountDeps,
  request: IncomingRequest,
  userId: string,
  proof: Proof,
  options: ProveOptions = {},
): Promise<Proven | AccountFailure> {
  const factor = requireSecondFactor(deps);
  const key = codeThrottleKey(userId);
  const admission = await deps.throttle.admit(key, request.ip);
  if (admission.throttled) {
    return {
      ok: false,
      error: 'throttled',
      retryAfterSeconds: admission.retryAfterSeconds,
      message: 'Too many wrong codes; try again later.',
    };
  }
  let wrongCode = false;
  const result = await changeDocument(deps, userId, (user, doc) => {
    const refusal = options.refuseUser?.(user);
    if (refusal) return { refuse: refusal };
    if (!hasFactor(doc)) return { refuse: notEnrolled };
    const next = consume(factor, user, doc, proof, (deps.clock ?? systemClock).now());
    wrongCode = next === null;
    if (!next) return { refuse: invalidCode };
    return { next: options.alsoChange ? options.alsoChange(next) : next, value: next.recoveryCodes.length };
  }).catch(async (error: unknown) => {
    await deps.throttle.release(key, admission);
    throw error;
  });
  if (result.ok) {
    await deps.throttle.succeed(key, admission);
    return { ok: true, user: result.user, method: proof.kind, recoveryCodesLeft: result.value };
  }
  if (!wrongCode) {
    // Refused before any code was compared: neither a failure nor a success.
    await deps.throttle.release(key, admission);
    return result;
  }
  const lockout = await deps.throttle.fail(key, request.ip, { admitted: true });
  deps.audit('second-factor.failure', { userId, method: proof.kind, ip: request.ip, lockout });
  return result;
}
