import { signIn } from 'cloakroom';
import { booleanField, readInput } from '../http/body.js';
import type { App, ServerDeps } from '../http/context.js';
import { ApiError, busyError } from '../http/errors.js';
import { audit } from '../http/logger.js';

/** One answer for unknown user, wrong password and locked account: nothing to enumerate. */
const WRONG = 'Wrong username or password.';

/**
 * `POST /api/login`. Login CSRF is covered without a server-side session per visitor: the
 * origin gate refuses foreign origins, and an HTML form must also carry the login page's
 * signed double-submit token. A JSON client without Origin (curl, a server) needs neither.
 */
export function loginRoutes(app: App, deps: ServerDeps): void {
  const { sessions, auth, logger, metrics } = deps;
  app.post('/api/login', async (c) => {
    const req = c.get('cloakroomRequest');
    // Login CSRF, first gate: a sign-in that says it comes from another origin is refused.
    const refusal = sessions.checkOrigin(req);
    if (refusal) {
      metrics.csrfRefusals.inc({ reason: refusal });
      audit(logger, 'csrf.refused', { route: 'login', reason: refusal, ip: req.ip });
      throw new ApiError('csrf', 'This sign-in came from another site and was refused.');
    }
    const input = await readInput(c);
    // Second gate for HTML forms: the signed double-submit token of the login page.
    if (input.form && !sessions.checkLoginToken(req, input.fields._csrf as string | undefined)) {
      metrics.csrfRefusals.inc({ reason: 'login-token' });
      audit(logger, 'csrf.refused', { route: 'login', reason: 'login-token', ip: req.ip });
      throw new ApiError('csrf', 'The sign-in form expired; reload the page and try again.');
    }
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
}
