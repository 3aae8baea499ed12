import type { IncomingRequest } from '../../core/request.js';
import type { UserRecord } from '../types.js';
import type { AccountDeps, AccountFailure } from './deps.js';

/**
 * A signed-in user proving their password again (a password change, a re-authentication),
 * under the sign-in throttle: the attempt takes its places before the hash is checked, a wrong
 * password counts like a failed sign-in (`login.failure` with `route`, and `lockout` when one
 * starts), a right one clears the account's count, and a busy hasher (`PasswordsBusyError`,
 * thrown on) gives the places back, having checked nothing. A locked account's password is
 * wrong, whatever it is. One rule, for every place that asks for the password of a session.
 */
export async function provePassword(
  deps: AccountDeps,
  request: IncomingRequest,
  user: UserRecord,
  password: string,
  route: 'password' | 'reauth',
  wrong: string,
): Promise<{ ok: true } | AccountFailure> {
  const admission = await deps.throttle.admit(user.username, request.ip);
  if (admission.throttled) {
    return {
      ok: false,
      error: 'throttled',
      retryAfterSeconds: admission.retryAfterSeconds,
      message: 'Too many failed attempts; try again later.',
    };
  }
  const check = await deps.passwords.verify(user.passwordHash, password).catch(async (error) => {
    await deps.throttle.release(user.username, admission);
    throw error;
  });
  if (!check.ok || user.locked) {
    const lockout = await deps.throttle.fail(user.username, request.ip, { admitted: true });
    deps.audit('login.failure', { userId: user.id, route, ip: request.ip });
    for (const scope of lockout) deps.audit('lockout', { username: user.username, scope, ip: request.ip });
    return { ok: false, error: 'wrong_password', message: wrong };
  }
  await deps.throttle.succeed(user.username, admission);
  return { ok: true };
}
