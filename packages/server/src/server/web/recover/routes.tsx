import { inspectRecoveryLink, useRecoveryLink } from 'cloakroom';
import type { CloakroomEnv } from 'cloakroom/hono';
import type { Context } from 'hono';
import { readInput } from '../../http/body.js';
import type { App, ServerDeps } from '../../http/context.js';
import { audit } from '../../http/logger.js';
import { setFlash } from '../flash.js';
import { formText } from '../helpers.js';
import { MessagePage } from '../layout.js';
import { RecoverPage } from './page.js';

/**
 * GET/POST /recover?token=…: the one-time recovery link an admin (or `cloakroom user
 * reset-link`) issued. No session is needed, so the login page's CSRF checks apply (origin
 * gate, signed login token) and it is registered before the session CSRF guard. The token is
 * in the link's query only: the request log prints no query, the form posts it in the body,
 * and `Referrer-Policy: same-origin` keeps it from other sites (the page loads nothing else).
 */
export function recoverPages(app: App, deps: ServerDeps): void {
  const { sessions, auth, account, logger, metrics } = deps;

  /** Used, expired, replaced, void after a password change, or never issued: one answer. */
  const closed = (c: Context<CloakroomEnv>) =>
    c.html(
      <MessagePage
        status={404}
        title="This link no longer works"
        text="The recovery link was already used, has expired, or was replaced by a newer one. Ask an administrator for a new link."
      />,
      404,
    );

  const render = async (
    c: Context<CloakroomEnv>,
    token: unknown,
    status: 200 | 400 | 403,
    error?: string,
  ) => {
    const link = typeof token === 'string' && token ? await inspectRecoveryLink(account, token) : null;
    if (!link?.ok) return closed(c);
    const { token: csrf, setCookie } = sessions.issueLoginToken(c.get('cloakroomRequest'));
    auth.setCookies(c, setCookie);
    return c.html(
      <RecoverPage
        token={token as string}
        csrf={csrf}
        username={link.user.username}
        displayName={link.user.displayName}
        clearSecondFactor={link.clearSecondFactor}
        error={error ?? null}
      />,
      status,
    );
  };

  app.get('/recover', (c) => render(c, c.req.query('token'), 200));

  app.post('/recover', async (c) => {
    const req = c.get('cloakroomRequest');
    const refusal = sessions.checkOrigin(req);
    if (refusal) {
      metrics.csrfRefusals.inc({ reason: refusal });
      audit(logger, 'csrf.refused', { route: 'recover', reason: refusal, ip: req.ip });
      return c.html(
        <MessagePage status={403} title="Request refused" text="This form came from another site." />,
        403,
      );
    }
    const { fields } = await readInput(c);
    if (!sessions.checkLoginToken(req, fields._csrf as string | undefined)) {
      metrics.csrfRefusals.inc({ reason: 'login-token' });
      audit(logger, 'csrf.refused', { route: 'recover', reason: 'login-token', ip: req.ip });
      return render(c, fields.token, 403, 'The form expired. Please enter the new password again.');
    }
    const newPassword = formText(fields, 'newPassword');
    if (newPassword !== formText(fields, 'confirmPassword'))
      return render(c, fields.token, 400, 'The passwords do not match.');
    const result = await useRecoveryLink(account, formText(fields, 'token'), newPassword);
    if (!result.ok) {
      if (result.error === 'closed') return closed(c);
      return render(c, fields.token, 400, result.message);
    }
    setFlash(c, 'password-set');
    return c.redirect('/login', 303);
  });
}
