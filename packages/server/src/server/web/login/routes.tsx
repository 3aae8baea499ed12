import { signIn } from 'cloakroom';
import type { CloakroomEnv } from 'cloakroom/hono';
import type { Context } from 'hono';
import type { App, ServerDeps } from '../../http/context.js';
import { audit } from '../../http/logger.js';
import { takeFlash } from '../flash.js';
import { formText, safeNext } from '../helpers.js';
import { checkLoginForm } from '../login-csrf.js';
import { allowPasskeyScript } from '../passkey-ui.js';
import { LoginPage } from './page.js';

/** GET/POST /login (its own login-CSRF checks: there is no session yet). */
export function loginPages(app: App, deps: ServerDeps): void {
  const { sessions, auth, logger, metrics } = deps;

  const renderLogin = (
    c: Context<CloakroomEnv>,
    status: 200 | 401 | 403 | 429 | 503,
    next: string,
    extra: { username?: string; error?: string } = {},
  ) => {
    const { token, setCookie } = sessions.issueLoginToken(c.get('cloakroomRequest'));
    auth.setCookies(c, setCookie);
    const passkeys = deps.config.passkeys !== null;
    if (passkeys) allowPasskeyScript(c);
    return c.html(
      <LoginPage token={token} next={next} flash={takeFlash(c)} passkeys={passkeys} {...extra} />,
      status,
    );
  };

  app.get('/login', (c) => {
    const next = safeNext(c.req.query('next'));
    if (c.get('user')) return c.redirect(next, 303);
    return renderLogin(c, 200, next);
  });

  app.post('/login', async (c) => {
    const req = c.get('cloakroomRequest');
    const checked = await checkLoginForm(deps, c, 'login-page', 'This sign-in came from another site.');
    if (checked.verdict === 'foreign') return checked.response;
    const { fields } = checked;
    const next = safeNext(fields.next);
    const username = formText(fields, 'username').slice(0, 64);
    if (checked.verdict === 'expired')
      return renderLogin(c, 403, next, { username, error: 'The sign-in form expired. Please try again.' });
    const result = await signIn(deps, req, {
      username: fields.username,
      password: fields.password,
      remember: fields.remember === 'on' || fields.remember === 'true',
    });
    if (!result.ok) {
      metrics.logins.inc({ outcome: result.error });
      if (result.error === 'second_factor') {
        // The password was right; no session yet. The browser now holds only the pending
        // state's own cookie, and the code page makes the session.
        auth.setCookies(c, result.setCookie);
        audit(logger, 'login.second-factor-required', { userId: result.user.id, ip: req.ip });
        return c.redirect(`/login/second-factor?next=${encodeURIComponent(next)}`, 303);
      }
      if (result.error === 'throttled') {
        audit(logger, 'login.throttled', { username: result.username, scope: result.scope, ip: req.ip });
        c.header('Retry-After', String(result.retryAfterSeconds));
        const minutes = Math.max(1, Math.ceil(result.retryAfterSeconds / 60));
        return renderLogin(c, 429, next, {
          username,
          error: `Too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
        });
      }
      if (result.error === 'busy') {
        // Nothing was checked or counted: the same form again, and when to retry.
        c.header('Retry-After', String(result.retryAfterSeconds));
        const seconds = result.retryAfterSeconds;
        return renderLogin(c, 503, next, {
          username,
          error: `Too many people are signing in right now. Please try again in ${seconds} second${seconds === 1 ? '' : 's'}.`,
        });
      }
      if (result.error === 'invalid_credentials') {
        audit(logger, 'login.failure', { username: result.username, ip: req.ip });
        for (const scope of result.lockout)
          audit(logger, 'lockout', { username: result.username, scope, ip: req.ip });
      }
      return renderLogin(c, 401, next, { username, error: 'Wrong username or password.' });
    }
    metrics.logins.inc({ outcome: 'success' });
    auth.adopt(c, result.issued);
    audit(logger, 'login.success', {
      userId: result.user.id,
      session: result.issued.session.id,
      ip: req.ip,
      remember: result.issued.session.remember,
    });
    return c.redirect(next, 303);
  });
}
