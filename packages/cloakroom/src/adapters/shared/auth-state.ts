import type { UserRecord, UserStore } from '../../auth/types.js';
import { toUser, type User } from '../../auth/users.js';
import type { IncomingRequest } from '../../core/request.js';
import type { NoSessionReason, Session } from '../../core/session.js';
import type { CreateOptions, Sessions } from '../../core/sessions.js';

/**
 * Why a request has no signed-in user: a core reason, or the account is gone or locked, or its
 * credentials changed after the session's sign-in began (`stale`).
 */
export type NoUserReason = NoSessionReason | 'user-missing' | 'user-locked' | 'stale';

/**
 * Whether a session's user may act: `null` if so, else why not. A session whose credential epoch
 * differs from its user's began before a password change, lock, reset or "sign out everywhere"
 * finished — even if it was created after (a sign-in in flight) — and is dead.
 */
export function accountRefusal(session: Session, record: UserRecord | null): NoUserReason | null {
  if (!record) return 'user-missing';
  if (record.locked) return 'user-locked';
  // A user store written before epochs existed returns none: that is epoch 0.
  return (record.epoch ?? 0) === session.epoch ? null : 'stale';
}

/** What an adapter attaches to each request. Helpers that sign in or out update it in place. */
export interface AuthState {
  /** The validated session, or `null`. */
  session: Session | null;
  /** The signed-in user (loaded fresh on every request when a user store is given), or `null`. */
  user: User | null;
  /** Why there is no user, or `null` when there is one. For logs and metrics, never for the client. */
  reason: NoUserReason | null;
  /** The request as the core sees it (https, host and ip already decided). */
  request: IncomingRequest;
}

/**
 * Receives the outcome of {@link resolve}: the request, its session and user (or why there is
 * none), and the Set-Cookie values validation produced. `out` is passed through untouched, so a
 * caller made once per adapter needs no closure per request.
 */
export type Settle<O, T> = (
  out: O,
  request: IncomingRequest,
  session: Session | null,
  user: User | null,
  reason: NoUserReason | null,
  setCookie: string[],
) => T;

/**
 * Validates the request's cookie and loads its user, then hands the outcome to `settle`. A locked
 * or deleted user has no session, nor has one whose credentials changed after its sign-in began
 * (see {@link accountRefusal}). Store failures throw `StoreError` before `settle` runs: nothing is
 * written before both reads succeeded, so a 503 sets no cookie.
 */
export async function resolve<O, T>(
  sessions: Sessions,
  users: UserStore | undefined,
  request: IncomingRequest,
  out: O,
  settle: Settle<O, T>,
): Promise<T> {
  const result = await sessions.validate(request);
  let session = result.session;
  let user: User | null = null;
  let reason: NoUserReason | null = result.reason;
  if (session && users) {
    const record = await users.getById(session.userId);
    const refusal = accountRefusal(session, record);
    if (refusal) {
      // Dead for good (an unlock does not revive it): the record goes now, not at its expiry.
      // Awaited but never an error: the answer is "no session" whether or not the delete works.
      if (refusal === 'stale') await sessions.end(session).catch(() => false);
      session = null;
      reason = refusal;
    } else if (record) {
      user = toUser(record);
    }
  }
  return settle(out, request, session, user, reason, result.setCookie);
}

const toState: Settle<undefined, { state: AuthState; setCookie: string[] }> = (
  _out,
  request,
  session,
  user,
  reason,
  setCookie,
) => ({ state: { session, user, reason, request }, setCookie });

/** {@link resolve} as a plain state and the Set-Cookie values to send, for callers without an adapter. */
export function resolveAuth(
  sessions: Sessions,
  users: UserStore | undefined,
  request: IncomingRequest,
): Promise<{ state: AuthState; setCookie: string[] }> {
  return resolve(sessions, users, request, undefined, toState);
}

/**
 * The options of a sign-in an application started itself: without an `epoch`, the user's current
 * one is read now. To be safe against a credential change that lands during the sign-in, pass the
 * epoch of the user record the credential was checked against instead.
 */
export async function withEpoch(users: UserStore | undefined, create: CreateOptions): Promise<CreateOptions> {
  if (!users || create.epoch !== undefined) return create;
  const record = await users.getById(create.userId);
  return record ? { ...create, epoch: record.epoch } : create;
}
