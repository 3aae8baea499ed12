import { systemClock } from '../../core/clock.js';
import type { Actor } from '../audit.js';
import { passwordPolicyError } from '../password-policy.js';
import { changeDocument } from '../second-factor/change.js';
import {
  parseDocument,
  type RecoveryLinkState,
  type SecondFactorDocument,
  withoutFactor,
} from '../second-factor/document.js';
import { codeThrottleKey } from '../second-factor/proof.js';
import {
  newRecoveryToken,
  parseRecoveryToken,
  passwordFingerprint,
  RECOVERY_LINK_MS,
  sameHash,
} from '../second-factor/recovery-link-token.js';
import type { UserRecord } from '../types.js';
import { toUser, type User } from '../users.js';
import { type AccountDeps, type AccountFailure, invalid } from './deps.js';

const closed: AccountFailure = {
  ok: false,
  error: 'closed',
  message: 'This recovery link is used, expired or no longer valid; ask an admin for a new one.',
};

/**
 * The link the token names, if it still holds: the hash matches (constant time), it has not
 * expired, the password is still the one it was issued under, and the account is not locked (a
 * locked account changes only by an admin's hand).
 */
function liveLink(
  user: UserRecord,
  doc: SecondFactorDocument,
  hash: string,
  now: number,
): RecoveryLinkState | null {
  const link = doc.recoveryLink;
  if (!link || user.locked || now >= link.expiresAt) return null;
  if (!sameHash(link.hash, hash)) return null;
  return sameHash(link.passwordFingerprint, passwordFingerprint(user.passwordHash)) ? link : null;
}

/**
 * An admin or an operator issues a one-time recovery link for a user who cannot sign in: a token
 * with 32 random bytes, valid one hour, stored only as a hash; it replaces an earlier link and is
 * void once the password changes another way. `clearSecondFactor`: using it also removes the
 * user's second factor (TOTP, passkeys and recovery codes). Audited as `recovery-link.issued`
 * (never with the token).
 */
export async function issueRecoveryLink(
  deps: AccountDeps,
  userId: string,
  options: { clearSecondFactor?: boolean },
  by: Actor,
): Promise<{ ok: true; user: UserRecord; token: string; expiresAt: number } | AccountFailure> {
  const { token, hash } = newRecoveryToken(userId);
  const clearSecondFactor = options.clearSecondFactor === true;
  const now = (deps.clock ?? systemClock).now();
  const expiresAt = now + RECOVERY_LINK_MS;
  const result = await changeDocument(deps, userId, (user, doc) => ({
    next: {
      ...doc,
      recoveryLink: {
        hash,
        expiresAt,
        passwordFingerprint: passwordFingerprint(user.passwordHash),
        clearSecondFactor,
        issuedBy: by,
        issuedAt: now,
      },
    },
    value: null,
  }));
  // changeDocument's own not_found is the issuer's answer for an unknown user.
  if (!result.ok) return result;
  deps.audit('recovery-link.issued', { userId, by, clearSecondFactor, expiresAt });
  return { ok: true, user: result.user, token, expiresAt };
}

/** What a recovery link page shows before the new password is typed; `closed` if it would not work. */
export async function inspectRecoveryLink(
  deps: AccountDeps,
  token: unknown,
): Promise<{ ok: true; user: User; clearSecondFactor: boolean; expiresAt: number } | AccountFailure> {
  const parsed = parseRecoveryToken(token);
  if (!parsed) return closed;
  const user = await deps.users.getById(parsed.userId);
  if (!user) return closed;
  const link = liveLink(
    user,
    parseDocument(user.secondFactor),
    parsed.hash,
    (deps.clock ?? systemClock).now(),
  );
  if (!link) return closed;
  return {
    ok: true,
    user: toUser(user),
    clearSecondFactor: link.clearSecondFactor,
    expiresAt: link.expiresAt,
  };
}

/**
 * Uses a recovery link: sets a new password (the policy applies), removes the second factor
 * (TOTP, passkeys, recovery codes) if the issuer asked, advances the epoch (every session ends, one in flight too), lifts the
 * account's sign-in and code lockouts. Exactly once, parallel uses included: the link is used up
 * by its compare-and-set before any slow work (the argon2 hash); if hashing fails it is put back.
 * The password is then written only over the hash the link was issued under. Audited as
 * `recovery-link.used`.
 */
export async function useRecoveryLink(
  deps: AccountDeps,
  token: unknown,
  newPassword: unknown,
): Promise<
  { ok: true; user: UserRecord; revokedSessions: number; secondFactorCleared: boolean } | AccountFailure
> {
  const parsed = parseRecoveryToken(token);
  if (!parsed) return closed;
  const now = () => (deps.clock ?? systemClock).now();
  const claimed = await changeDocument(deps, parsed.userId, (user, doc) => {
    const link = liveLink(user, doc, parsed.hash, now());
    if (!link) return { refuse: closed };
    // The policy is checked before the link is used up: a refused password leaves the link working.
    const problem = passwordPolicyError(newPassword, { username: user.username });
    if (problem) return { refuse: invalid('newPassword', `The new password ${problem}.`) };
    return { next: { ...doc, recoveryLink: null }, value: link };
  });
  if (!claimed.ok) return claimed.error === 'not_found' ? closed : claimed;
  const link = claimed.value;
  const passwordHash = await deps.passwords.hash(newPassword as string).catch(async (error: unknown) => {
    await putBack(deps, parsed.userId, link);
    throw error;
  });
  const written = await changeDocument(deps, parsed.userId, (user, doc) =>
    // The password changed another way since the link was issued: the link was void.
    passwordFingerprint(user.passwordHash) !== link.passwordFingerprint
      ? { refuse: closed }
      : {
          next: link.clearSecondFactor ? withoutFactor(doc) : doc,
          patch: { passwordHash, advanceEpoch: true },
          condition: { ifPasswordHash: user.passwordHash },
          value: null,
        },
  );
  if (!written.ok) return written.error === 'not_found' ? closed : written;
  const userId = parsed.userId;
  const revokedSessions = await deps.sessions.revokeUser(userId);
  await deps.throttle.clear(written.user.username);
  await deps.throttle.clear(codeThrottleKey(userId));
  const secondFactorCleared = link.clearSecondFactor;
  deps.audit('recovery-link.used', { userId, revokedSessions, secondFactorCleared });
  return { ok: true, user: written.user, revokedSessions, secondFactorCleared };
}

/** Best effort: the link back, if nothing replaced it meanwhile (the hash failed, e.g. `PasswordsBusyError`). */
async function putBack(deps: AccountDeps, userId: string, link: RecoveryLinkState): Promise<void> {
  await changeDocument(deps, userId, (_user, doc) =>
    doc.recoveryLink ? { keep: null } : { next: { ...doc, recoveryLink: link }, value: null },
  ).catch(() => {});
}
