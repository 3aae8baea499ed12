import { inspectRecoveryLink, useRecoveryLink } from 'cloakroom';
import type { CloakroomEnv } from 'cloakroom/hono';
import type { Context } from 'hono';
import type { App, ServerDeps } from '../../http/context.js';
import { setFlash } from '../flash.js';
import { formText } from '../helpers.js';
import { MessagePage } from '../layout.js';
import { checkLoginForm } from '../login-csrf.js';
import { clearRecoverCookie, readRecoverCookie, recoverCookie } from './cookie.js';
import { RecoverPage } from './page.js';

/**
 * /recover: the one-time recovery link an admin (or `cloakroom user reset-link`) issued. No
 * session is needed, so the login page's CSRF checks apply (origin gate, signed login token) and
 * it is registered before the session CSRF guard. The token is in the link's URL only for its
 * first request: `GET /recover?token=…` moves it into a cookie for `/recover` alone (see
 * `cookie.ts`) and sends the browser to `/recover`, so the page, its stylesheet request and its
 * form post carry no token in a URL or a `Referer`. The request log prints no query, and
 * `Referrer-Policy: same-origin` keeps even the first URL from other sites.
 */
export function recoverPages(app: App, deps: ServerDeps): void {
  const { sessions, auth, account, clock } = deps;
  const https = (c: Context<CloakroomEnv>) => c.get('cloakroomRequest').https;

  /** Used, expired, replaced, void after a password change, or never issued: one answer. */
  const closed = (c: Context<CloakroomEnv>) => {
    c.header('Set-Cookie', clearRecoverCookie(https(c)), { append: true });
    return c.html(
      <MessagePage
        status={404}
        title="This link no longer works"
        text="The recovery link was already used, has expired, or was replaced by a newer one. Ask an administrator for a new link."
      />,
      404,
    );
  };

  const render = async (
    c: Context<CloakroomEnv>,
    token: string | undefined,
    status: 200 | 400 | 403,
    error?: string,
  ) => {
    const link = token ? await inspectRecoveryLink(account, token) : null;
    if (!link?.ok) return closed(c);
    const { token: csrf, setCookie } = sessions.issueLoginToken(c.get('cloakroomRequest'));
    auth.setCookies(c, setCookie);
    return c.html(
      <RecoverPage
        csrf={csrf}
        username={link.user.username}
        displayName={link.user.displayName}
        clearSecondFactor={link.clearSecondFactor}
        error={error ?? null}
      />,
      status,
    );
  };

  app.get('/recover', async (c) => {
    const token = c.req.query('token');
    if (token === undefined) return render(c, readRecoverCookie(c, https(c)), 200);
    // The link's first request: one store read and a hash (nothing slow) for the cookie's life;
    // a dead link leaves no cookie, and /recover then says so.
    const link = await inspectRecoveryLink(account, token);
    const cookie = link.ok ? recoverCookie(https(c), token, link.expiresAt - clock.now()) : null;
    c.header('Set-Cookie', cookie ?? clearRecoverCookie(https(c)), { append: true });
    return c.redirect('/recover', 303);
  });

  app.post('/recover', async (c) => {
    const checked = await checkLoginForm(deps, c, 'recover', 'This form came from another site.');
    if (checked.verdict === 'foreign') return checked.response;
    const { fields } = checked;
    // The cookie only: a `token` field is not read (the JSON API takes it in its body).
    const token = readRecoverCookie(c, https(c));
    if (checked.verdict === 'expired')
      return render(c, token, 403, 'The form expired. Please enter the new password again.');
    const newPassword = formText(fields, 'newPassword');
    if (newPassword !== formText(fields, 'confirmPassword'))
      return render(c, token, 400, 'The passwords do not match.');
    const result = await useRecoveryLink(account, token, newPassword);
    if (!result.ok) {
      if (result.error === 'closed') return closed(c);
      return render(c, token, 400, result.message);
    }
    c.header('Set-Cookie', clearRecoverCookie(https(c)), { append: true });
    setFlash(c, 'password-set');
    return c.redirect('/login', 303);
  });
}
