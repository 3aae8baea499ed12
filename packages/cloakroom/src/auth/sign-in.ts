import { type Clock, systemClock } from '../core/clock.js';
import type { PendingSignIn } from '../core/pending.js';
import type { IncomingRequest } from '../core/request.js';
import type { Issued, Sessions } from '../core/sessions.js';
import { PasswordsBusyError } from './password-limit.js';
import { MAX_PASSWORD_BYTES } from './password-policy.js';
import { hasSecondFactor } from './second-factor/document.js';
import type { Throttle } from './throttle.js';
import type { PasswordHasher, UserStore } from './types.js';
import { MAX_USERNAME_BYTES, normalizeUsername } from './usernames.js';
import { toUser, type User } from './users.js';

export interface SignInInput {
  username?: unknown;
  password?: unknown;
  remember?: unknown;
}

/**
 * A sign-in outcome. Failures name no cause a client could use to enumerate accounts.
 * `second_factor`: the password was right and the user has a second factor; no session exists
 * yet, only a pending state (send `setCookie`), which `completeSignIn` turns into one after a
 * code. It is an `ok: false` on purpose: a caller that does not know it signs nobody in.
 */
export type SignInResult =
  | { ok: true; user: User; issued: Issued; rehashed: boolean }
  | { ok: false; error: 'second_factor'; user: User; pending: PendingSignIn; setCookie: string[] }
  | { ok: false; error: 'invalid_credentials'; username: string | null; lockout: Array<'account' | 'ip'> }
  | { ok: false; error: 'throttled'; retryAfterSeconds: number; scope: 'account' | 'ip'; username: string }
  | { ok: false; error: 'busy'; retryAfterSeconds: number }
  | { ok: false; error: 'bad_request'; message: string };

export interface SignInDeps {
  sessions: Sessions;
  users: UserStore;
  passwords: PasswordHasher;
  throttle: Throttle;
  /** Default: the system clock. */
  clock?: Clock;
}

/**
 * Password sign-in. Order matters: input shape, then throttling (a locked-out account gets
 * 429 whatever the password), then one password verification whether or not the user
 * exists (an unknown user costs the same time as a wrong password), then a fresh session —
 * the request's previous session is destroyed (no fixation). A correct password stored
 * under an outdated scheme is re-hashed now. If the user's credentials changed (or the account
 * was locked) while the sign-in ran, its new session is ended and the answer is
 * `invalid_credentials`.
 *
 * A user with a second factor (TOTP or a passkey) gets no session here: the answer is
 * `second_factor` with a short-lived pending state (its own cookie, never a session) that carries the epoch read before
 * the password was checked.
 *
 * `busy`: the password hasher's limit refused the attempt (`PasswordsBusyError`: as many checks
 * as the machine can take are running or waiting). Its password was not looked at and nothing
 * is counted: a hasher that says it is full is asked before the throttle, and an attempt refused
 * later (its wait ran out) gives its throttle places back. Known and unknown users are refused
 * alike.
 */
export async function signIn(
  deps: SignInDeps,
  request: IncomingRequest,
  input: SignInInput,
): Promise<SignInResult> {
  const { username: rawUser, password, remember } = input;
  if (typeof rawUser !== 'string' || typeof password !== 'string') {
    return { ok: false, error: 'bad_request', message: 'username and password must be strings' };
  }
  if (remember !== undefined && typeof remember !== 'boolean') {
    return { ok: false, error: 'bad_request', message: 'remember must be true or false' };
  }
  if (Buffer.byteLength(rawUser) > MAX_USERNAME_BYTES || Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
    return { ok: false, error: 'bad_request', message: 'username or password is too long' };
  }
  const username = normalizeUsername(rawUser);
  if (!username || password === '') {
    return { ok: false, error: 'bad_request', message: 'username and password are required' };
  }

  // A hasher that would refuse now is asked first: under a flood, a refusal costs no store work.
  const full = deps.passwords.refusal?.();
  if (full) return busy(full);

  const verdict = await deps.throttle.admit(username, request.ip);
  if (verdict.throttled) return { ok: false, error: 'throttled', username, ...verdict };

  const user = await deps.users.getByUsername(username);
  let check = { ok: false, needsRehash: false };
  try {
    if (user) check = await deps.passwords.verify(user.passwordHash, password);
    else await deps.passwords.verifyDummy(password);
  } catch (error) {
    if (!(error instanceof PasswordsBusyError)) throw error;
    await deps.throttle.release(username, verdict);
    return busy(error);
  }

  if (!user || !check.ok || user.locked) {
    const lockout = await deps.throttle.fail(username, request.ip, { admitted: true });
    return { ok: false, error: 'invalid_credentials', username, lockout };
  }
  await deps.throttle.succeed(username, verdict);
  let rehashed = false;
  // A busy hasher skips the re-hash: the next sign-in does it.
  const newHash = check.needsRehash ? await deps.passwords.hash(password).catch(unlessBusy) : null;
  if (newHash !== null) {
    // Only over the hash just verified: a password change that landed meanwhile (another
    // request, the CLI) must not be undone by re-storing the old password.
    const updated = await deps.users.update(
      user.id,
      { passwordHash: newHash },
      (deps.clock ?? systemClock).now(),
      { ifPasswordHash: user.passwordHash },
    );
    rehashed = updated !== null;
  }
  if (hasSecondFactor(user.secondFactor)) {
    const { pending, setCookie } = deps.sessions.issuePending(request, {
      userId: user.id,
      epoch: user.epoch,
      remember: remember === true,
      methods: ['pwd'],
    });
    return { ok: false, error: 'second_factor', user: toUser(user), pending, setCookie };
  }
  // The epoch read *before* the password was checked: a password change, lock or "sign out
  // everywhere" that lands while this sign-in is in flight leaves its session dead on arrival.
  const issued = await deps.sessions.create(request, {
    userId: user.id,
    remember: remember === true,
    epoch: user.epoch,
    methods: ['pwd'],
  });
  // One more look, so the answer does not claim a session that such a change has already killed
  // (every request checks the epoch anyway: this only keeps the answer honest).
  const after = await deps.users.getById(user.id);
  if (!after || after.locked || after.epoch !== user.epoch) {
    await deps.sessions.end(issued.session);
    return { ok: false, error: 'invalid_credentials', username, lockout: [] };
  }
  return { ok: true, user: toUser(user), issued, rehashed };
}

const busy = (error: PasswordsBusyError): SignInResult => ({
  ok: false,
  error: 'busy',
  retryAfterSeconds: error.retryAfterSeconds,
});

function unlessBusy(error: unknown): null {
  if (error instanceof PasswordsBusyError) return null;
  throw error;
}
