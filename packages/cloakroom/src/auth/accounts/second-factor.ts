import type { IncomingRequest } from '../../core/request.js';
import type { Session } from '../../core/session.js';
import type { Issued } from '../../core/sessions.js';
import type { Actor } from '../audit.js';
import { changeDocument } from '../second-factor/change.js';
import { hasFactor, parseDocument, withoutFactor, withoutTotp } from '../second-factor/document.js';
import {
  type CodeInput,
  codeThrottleKey,
  invalidCode,
  notEnrolled,
  proveSecondFactor,
  readProof,
} from '../second-factor/proof.js';
import { newRecoveryCodes } from '../second-factor/recovery-codes.js';
import type { UserRecord } from '../types.js';
import { type AccountDeps, type AccountFailure, reauthRequired, type UserChange } from './deps.js';

/** What a user (or an admin page) may know of a user's second factor. */
export interface SecondFactorStatus {
  /** Whether TOTP (an authenticator app) is on. Any factor at all: `enabled || passkeys > 0`. */
  enabled: boolean;
  /** Unused recovery codes; they count while TOTP or a passkey is on. */
  recoveryCodesLeft: number;
  /** When TOTP was turned on. */
  enrolledAt: number | null;
  /** How many passkeys the user has registered. */
  passkeys: number;
}

/** A user's second-factor status, read from the record (no store access). */
export function secondFactorStatus(record: UserRecord): SecondFactorStatus {
  const doc = parseDocument(record.secondFactor);
  return {
    enabled: doc.totp !== null,
    recoveryCodesLeft: hasFactor(doc) ? doc.recoveryCodes.length : 0,
    enrolledAt: doc.totp?.enrolledAt ?? null,
    passkeys: doc.passkeys.length,
  };
}

/** Refuses a user whose TOTP is off: there is nothing to turn off (passkeys are removed one by one). */
const totpOff = (user: UserRecord): AccountFailure | null =>
  parseDocument(user.secondFactor).totp ? null : notEnrolled;

/**
 * The user turns TOTP off: a current code or a recovery code (used up, throttled), and a recent
 * proof. The TOTP key goes in the same compare-and-set as the code's use, and so do the recovery
 * codes unless a passkey remains (then they are the passkeys' way back in). The session gets a
 * new ticket (a privilege change). Audited as `second-factor.disabled`.
 */
export async function disableSecondFactor(
  deps: AccountDeps,
  request: IncomingRequest,
  session: Session,
  input: CodeInput,
): Promise<{ ok: true; issued: Issued } | AccountFailure> {
  if (!deps.sessions.isRecent(session)) return reauthRequired;
  const proof = readProof(input);
  if (proof === null) return invalidCode;
  if ('ok' in proof) return proof;
  const proven = await proveSecondFactor(deps, request, session.userId, proof, {
    refuseUser: totpOff,
    alsoChange: withoutTotp,
  });
  if (!proven.ok) return proven;
  const issued = await deps.sessions.rotate(request, session);
  deps.audit('second-factor.disabled', { userId: session.userId, method: proven.method });
  return { ok: true, issued };
}

/**
 * A new set of ten recovery codes, returned once; the old set stops working in the same write.
 * Needs a recent proof and a factor (TOTP or a passkey). Audited as `recovery-codes.regenerated`.
 */
export async function regenerateRecoveryCodes(
  deps: AccountDeps,
  session: Session,
): Promise<{ ok: true; recoveryCodes: string[] } | AccountFailure> {
  if (!deps.sessions.isRecent(session)) return reauthRequired;
  const codes = newRecoveryCodes();
  const result = await changeDocument(deps, session.userId, (_user, doc) =>
    hasFactor(doc) ? { next: { ...doc, recoveryCodes: codes.hashes }, value: null } : { refuse: notEnrolled },
  );
  if (!result.ok) return result;
  deps.audit('recovery-codes.regenerated', { userId: session.userId });
  return { ok: true, recoveryCodes: codes.codes };
}

/**
 * An admin or an operator removes a user's second factor (a lost authenticator, no recovery code
 * left): the TOTP key, an enrolment in progress, every passkey and the recovery codes go, and the credential
 * epoch advances in the same write, so every session of the user ends (one in flight too). The
 * account's code throttle is cleared. Audited as `second-factor.reset` when there was a factor.
 */
export async function resetSecondFactor(
  deps: AccountDeps,
  userId: string,
  by: Actor,
): Promise<UserChange<{ revokedSessions: number }>> {
  const result = await changeDocument(deps, userId, (_user, doc) =>
    doc.totp || doc.enrolment || doc.recoveryCodes.length > 0 || doc.passkeys.length > 0
      ? { next: withoutFactor(doc), patch: { advanceEpoch: true }, value: true }
      : { keep: false },
  );
  if (!result.ok) return result;
  if (!result.value) return { ok: true, user: result.user, changed: false, revokedSessions: 0 };
  const revokedSessions = await deps.sessions.revokeUser(userId);
  await deps.throttle.clear(codeThrottleKey(userId));
  deps.audit('second-factor.reset', { userId, revokedSessions, by });
  return { ok: true, user: result.user, changed: true, revokedSessions };
}
