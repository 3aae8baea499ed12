import { systemClock } from '../../core/clock.js';
import type { IncomingRequest } from '../../core/request.js';
import type { Session } from '../../core/session.js';
import type { Issued } from '../../core/sessions.js';
import type { Actor } from '../audit.js';
import { passwordPolicyError } from '../password-policy.js';
import type { UserRecord } from '../types.js';
import { type AccountDeps, type AccountFailure, invalid, noSuchUser, reauthRequired } from './deps.js';
import { provePassword } from './password-proof.js';

/** The outcome of a user's own password change: the rotated ticket for the session that asked. */
export type PasswordChanged = { ok: true; user: UserRecord; issued: Issued; revokedSessions: number };

/**
 * A signed-in user changes their own password. The current password is checked under the
 * sign-in throttle (a wrong one counts like a failed sign-in, `login.failure` with route
 * `password`). Then, in this order: the hash and the credential epoch change in one atomic write
 * (only over the hash just verified), every other session ends — including one whose sign-in
 * with the old password is still in flight — the account's failure count is cleared, and the
 * session that asked gets a new ticket carrying the new epoch. Audited as `password.changed`.
 * Refused with `reauth_required` when the session's last proof is older than the re-auth window:
 * a stolen session alone must not be enough to take the account over.
 */
export async function changePassword(
  deps: AccountDeps,
  request: IncomingRequest,
  session: Session,
  input: { currentPassword?: unknown; newPassword?: unknown },
): Promise<PasswordChanged | AccountFailure> {
  if (!deps.sessions.isRecent(session)) return reauthRequired;
  const { currentPassword, newPassword } = input;
  if (typeof currentPassword !== 'string' || typeof newPassword !== 'string') {
    return invalid('currentPassword', 'Send currentPassword and newPassword as text.');
  }
  const user = await deps.users.getById(session.userId);
  if (!user) return noSuchUser;
  const problem = passwordPolicyError(newPassword, { username: user.username });
  if (problem) return invalid('newPassword', `The new password ${problem}.`);

  const proof = await provePassword(
    deps,
    request,
    user,
    currentPassword,
    'password',
    'The current password is wrong.',
  );
  if (!proof.ok) return proof;

  const updated = await deps.users.update(
    user.id,
    { passwordHash: await deps.passwords.hash(newPassword), advanceEpoch: true },
    (deps.clock ?? systemClock).now(),
    { ifPasswordHash: user.passwordHash },
  );
  if (!updated) {
    return {
      ok: false,
      error: 'conflict',
      message: 'The password was changed meanwhile; nothing was changed now.',
    };
  }
  const revokedSessions = await deps.sessions.revokeUser(user.id, { except: session });
  const issued = await deps.sessions.rotate(request, session, { epoch: updated.epoch });
  deps.audit('password.changed', { userId: user.id, revokedSessions });
  return { ok: true, user: updated, issued, revokedSessions };
}

/**
 * An admin or an operator sets a user's password. Every session of the user ends (also one whose
 * sign-in is in flight), and a running sign-in lockout of the account is lifted: a new password
 * is what a locked-out user is given. Audited as `password.reset`.
 */
export async function resetPassword(
  deps: AccountDeps,
  userId: string,
  newPassword: unknown,
  by: Actor,
): Promise<{ ok: true; user: UserRecord; revokedSessions: number; lockoutLifted: boolean } | AccountFailure> {
  const user = await deps.users.getById(userId);
  if (!user) return noSuchUser;
  const problem = passwordPolicyError(newPassword, { username: user.username });
  if (problem) return invalid('password', `The password ${problem}.`);
  const updated = await deps.users.update(
    userId,
    { passwordHash: await deps.passwords.hash(newPassword as string), advanceEpoch: true },
    (deps.clock ?? systemClock).now(),
  );
  if (!updated) return noSuchUser;
  const revokedSessions = await deps.sessions.revokeUser(userId);
  const lockoutLifted = await deps.throttle.clear(user.username);
  deps.audit('password.reset', { userId, revokedSessions, by });
  return { ok: true, user: updated, revokedSessions, lockoutLifted };
}
