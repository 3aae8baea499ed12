import { systemClock } from '../../core/clock.js';
import type { IncomingRequest } from '../../core/request.js';
import type { Session, SessionInfo } from '../../core/session.js';
import type { Issued } from '../../core/sessions.js';
import type { Actor } from '../audit.js';
import { type AccountDeps, type AccountFailure, noSuchUser, reauthRequired } from './deps.js';

const noSuchSession: AccountFailure = { ok: false, error: 'not_found', message: 'No such session.' };

/**
 * A user's live sessions, newest activity first. A session from before the user's last
 * credential change is dead even if its record has not been swept yet, so it is not listed.
 */
export async function listSessions(
  deps: AccountDeps,
  userId: string,
  current: Session | null = null,
): Promise<SessionInfo[]> {
  const user = await deps.users.getById(userId);
  if (!user) return [];
  return (await deps.sessions.list(userId, current)).filter((s) => s.epoch === user.epoch);
}

/**
 * Ends one session of a user by its public id. `by`: the public id of the session that asked
 * (the user), an admin's user id, or `'cli'`. Audited as `session.revoked`.
 */
export async function revokeSession(
  deps: AccountDeps,
  userId: string,
  sessionId: string,
  by: Actor,
): Promise<{ ok: true } | AccountFailure> {
  if (!(await deps.sessions.revoke(userId, sessionId))) return noSuchSession;
  deps.audit('session.revoked', { userId, session: sessionId, by });
  return { ok: true };
}

/**
 * "Sign out everywhere else": the credential epoch advances (so a sign-in in flight right now is
 * dead too), every other session ends, and the session that asked gets a new ticket carrying the
 * new epoch (and its CSRF secret, so tokens the client holds stay valid). Audited as `sessions.revoked` with `kept`.
 * Refused with `reauth_required` outside the re-auth window.
 */
export async function signOutOthers(
  deps: AccountDeps,
  request: IncomingRequest,
  session: Session,
): Promise<{ ok: true; revoked: number; issued: Issued } | AccountFailure> {
  if (!deps.sessions.isRecent(session)) return reauthRequired;
  const updated = await deps.users.update(
    session.userId,
    { advanceEpoch: true },
    (deps.clock ?? systemClock).now(),
  );
  if (!updated) return noSuchUser;
  const revoked = await deps.sessions.revokeUser(session.userId, { except: session });
  // Not a privilege change: the client's CSRF tokens stay valid under the new ticket.
  const issued = await deps.sessions.rotate(request, session, { epoch: updated.epoch, keepCsrfSecret: true });
  deps.audit('sessions.revoked', { userId: session.userId, count: revoked, kept: issued.session.id });
  return { ok: true, revoked, issued };
}

/**
 * An admin or an operator ends every session of a user (the epoch advances, so one being created
 * right now ends too). Audited as `sessions.revoked` with `by`.
 */
export async function revokeAllSessions(
  deps: AccountDeps,
  userId: string,
  by: Actor,
): Promise<{ ok: true; revoked: number } | AccountFailure> {
  const updated = await deps.users.update(userId, { advanceEpoch: true }, (deps.clock ?? systemClock).now());
  if (!updated) return noSuchUser;
  const revoked = await deps.sessions.revokeUser(userId);
  deps.audit('sessions.revoked', { userId, count: revoked, by });
  return { ok: true, revoked };
}
