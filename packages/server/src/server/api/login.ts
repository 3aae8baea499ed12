import { completeSignIn, secondFactorStatus, signIn } from 'cloakroom';
import { booleanField } from '../http/body.js';
import type { App, ServerDeps } from '../http/context.js';
import { ApiError, accepted, busyError } from '../http/errors.js';
import { audit } from '../http/logger.js';
import { loginCsrfInput } from '../http/login-csrf.js';
import { passkeyLoginRoutes } from './passkeys.js';
import { recoverRoutes } from './recover.js';

/**
 * Which second factors can finish a user's sign-in (`totp`, `passkey`; a recovery code always
 * can), for the client to offer the right one. Told only after the right password.
 */
async function secondFactorsOf(deps: ServerDeps, userId: string): Promise<Array<'totp' | 'passkey'>> {
  const record = await deps.users.getById(userId);
  if (!record) return [];
  const status = secondFactorStatus(record);
  const factors: Array<'totp' | 'passkey'> = status.enabled ? ['totp'] : [];
  if (status.passkeys > 0 && deps.account.passkeys) factors.push('passkey');
  return factors;
}

/** One answer for unknown user, wrong password and locked account: nothing to enumerate. */
const WRONG = 'Wrong username or password.';

/**
 * `POST /api/login` and its second step, `POST /api/login/second-factor`. For a user with a
 * second factor the password step creates no session: it answers 401 `second_factor_required`
 * with a pending cookie (five minutes, single use, never a session), and only a code sent with
 * that cookie to the second step signs in.
 */
export function loginRoutes(app: App, deps: ServerDeps): void {
  const { auth, logger, metrics, account } = deps;
  app.post('/api/login', async (c) => {
    const req = c.get('cloakroomRequest');
    const input = await loginCsrfInput(deps, req, c, 'login');
    const remember = booleanField(input, 'remember');
    const result = await signIn(deps, req, {
      username: input.fields.username,
      password: input.fields.password,
      ...(remember === undefined ? {} : { remember }),
    });
    if (!result.ok) {
      metrics.logins.inc({ outcome: result.error });
      if (result.error === 'bad_request') throw new ApiError('bad_request', result.message);
      // Nothing was checked or counted; the limit's refusals are logged once per burst (busy.ts).
      if (result.error === 'busy') throw busyError(result.retryAfterSeconds);
      if (result.error === 'throttled') {
        audit(logger, 'login.throttled', { username: result.username, scope: result.scope, ip: req.ip });
        throw new ApiError('throttled', 'Too many failed sign-ins; try again later.', {
          'Retry-After': String(result.retryAfterSeconds),
        });
      }
      if (result.error === 'second_factor') {
        // The password was right: the pending cookie, no session. 401, not 200: nobody is signed
        // in, and a client that only knows one step must not take this for success.
        auth.setCookies(c, result.setCookie);
        audit(logger, 'login.second-factor-required', { userId: result.user.id, ip: req.ip });
        const factors = await secondFactorsOf(deps, result.user.id);
        return c.json(
          {
            error: 'second_factor_required',
            message: factors.includes('totp')
              ? 'Enter the code from your authenticator app (or a recovery code).'
              : factors.includes('passkey')
                ? 'Confirm with your passkey (or enter a recovery code).'
                : 'Enter a recovery code.',
            next: '/api/login/second-factor',
            factors,
            expiresAt: new Date(result.pending.expiresAt).toISOString(),
          },
          401,
        );
      }
      audit(logger, 'login.failure', { username: result.username, ip: req.ip });
      for (const scope of result.lockout)
        audit(logger, 'lockout', { username: result.username, scope, ip: req.ip });
      throw new ApiError('invalid_credentials', WRONG);
    }
    metrics.logins.inc({ outcome: 'success' });
    auth.adopt(c, result.issued);
    audit(logger, 'login.success', {
      userId: result.user.id,
      session: result.issued.session.id,
      ip: req.ip,
      remember: result.issued.session.remember,
    });
    if (result.rehashed) audit(logger, 'password.rehashed', { userId: result.user.id });
    return c.json({ user: result.user, csrfToken: result.issued.csrfToken });
  });

  /**
   * The second step: `{code}` (six digits) or `{recoveryCode}`, with the pending cookie. The
   * use case checks the pending state (signature, expiry, single use across instances, account
   * unchanged), throttles the code per account like passwords, and audits; this translates.
   */
  app.post('/api/login/second-factor', async (c) => {
    const req = c.get('cloakroomRequest');
    const input = await loginCsrfInput(deps, req, c, 'login.second-factor');
    const result = await completeSignIn(account, req, {
      code: input.fields.code,
      recoveryCode: input.fields.recoveryCode,
    });
    // `invalid` (a body of the wrong shape) is counted as the password step counts it.
    if (!result.ok)
      metrics.logins.inc({ outcome: result.error === 'invalid' ? 'bad_request' : result.error });
    const { user, issued, recoveryCodesLeft } = accepted(result);
    metrics.logins.inc({ outcome: 'success' });
    auth.adopt(c, issued);
    return c.json({ user, csrfToken: issued.csrfToken, recoveryCodesLeft });
  });

  passkeyLoginRoutes(app, deps);
  recoverRoutes(app, deps);
}
