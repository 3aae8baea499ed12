import type { Context } from 'hono';
import type { CloakroomEnv } from '../../adapters/hono/index.js';
import { bootstrapAdmin } from '../../auth/accounts/index.js';
import { signIn } from '../../auth/sign-in.js';
import { readInput } from '../body.js';
import type { App, ServerDeps } from '../context.js';
import { audit } from '../logger.js';
import { setFlash, takeFlash } from '../pages/flash.js';
import { safeNext } from '../pages/helpers.js';
import { MessagePage } from '../pages/layout.js';
import { LoginPage } from '../pages/login.js';
import { SetupPage } from '../pages/setup.js';
import type { SetupToken } from '../setup-token.js';

function field(fields: Record<string, unknown>, name: string): string {
  const v = fields[name];
  return typeof v === 'string' ? v : '';
}

/** GET/POST /login and the first-run set-up page (their own CSRF checks: no session yet). */
export function authPages(app: App, deps: ServerDeps, setup: SetupToken | null): void {
  const { sessions, auth, logger, metrics } = deps;

  const renderLogin = (
    c: Context<CloakroomEnv>,
    status: 200 | 401 | 403 | 429,
    next: string,
    extra: { username?: string; error?: string } = {},
  ) => {
    const { token, setCookie } = sessions.issueLoginToken(c.get('cloakroomRequest'));
    auth.setCookies(c, setCookie);
    return c.html(<LoginPage token={token} next={next} flash={takeFlash(c)} {...extra} />, status);
  };

  app.get('/login', (c) => {
    const next = safeNext(c.req.query('next'));
    if (c.get('user')) return c.redirect(next, 303);
    return renderLogin(c, 200, next);
  });

  app.post('/login', async (c) => {
    const req = c.get('cloakroomRequest');
    const refusal = sessions.checkOrigin(req);
    if (refusal) {
      metrics.csrfRefusals.inc({ reason: refusal });
      audit(logger, 'csrf.refused', { route: 'login-page', reason: refusal, ip: req.ip });
      return c.html(
        <MessagePage status={403} title="Request refused" text="This sign-in came from another site." />,
        403,
      );
    }
    const { fields } = await readInput(c);
    const next = safeNext(fields.next);
    if (!sessions.checkLoginToken(req, fields._csrf as string | undefined)) {
      metrics.csrfRefusals.inc({ reason: 'login-token' });
      audit(logger, 'csrf.refused', { route: 'login-page', reason: 'login-token', ip: req.ip });
      return renderLogin(c, 403, next, { error: 'The sign-in form expired. Please try again.' });
    }
    const result = await signIn(deps, req, {
      username: fields.username,
      password: fields.password,
      remember: fields.remember === 'on' || fields.remember === 'true',
    });
    const username = field(fields, 'username').slice(0, 64);
    if (!result.ok) {
      metrics.logins.inc({ outcome: result.error });
      if (result.error === 'throttled') {
        audit(logger, 'login.throttled', { username: result.username, scope: result.scope, ip: req.ip });
        c.header('Retry-After', String(result.retryAfterSeconds));
        const minutes = Math.max(1, Math.ceil(result.retryAfterSeconds / 60));
        return renderLogin(c, 429, next, {
          username,
          error: `Too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
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

  const closed = (c: Context) =>
    c.html(
      <MessagePage
        status={404}
        title="Set-up is closed"
        text="This set-up link has been used or has expired."
      />,
      404,
    );

  app.get('/setup', async (c) => {
    if (!setup?.check(c.req.query('token')) || (await deps.users.count()) > 0) return closed(c);
    const { token, setCookie } = sessions.issueLoginToken(c.get('cloakroomRequest'));
    auth.setCookies(c, setCookie);
    return c.html(<SetupPage setupToken={c.req.query('token')!} csrf={token} />);
  });

  app.post('/setup', async (c) => {
    const req = c.get('cloakroomRequest');
    const { fields } = await readInput(c);
    if (sessions.checkOrigin(req) || !sessions.checkLoginToken(req, fields._csrf as string | undefined)) {
      return c.html(
        <MessagePage
          status={403}
          title="Request refused"
          text="The set-up form expired or came from another site."
        />,
        403,
      );
    }
    if (!setup?.check(fields.token) || (await deps.users.count()) > 0) return closed(c);
    const again = (error: string) => {
      const { token } = sessions.issueLoginToken(req);
      return c.html(
        <SetupPage
          setupToken={field(fields, 'token')}
          csrf={token}
          error={error}
          username={field(fields, 'username')}
        />,
        400,
      );
    };
    if (field(fields, 'password') !== field(fields, 'confirm')) return again('The passwords do not match.');
    const displayName = field(fields, 'displayName').trim();
    const result = await bootstrapAdmin(
      deps.account,
      {
        username: field(fields, 'username'),
        password: field(fields, 'password'),
        ...(displayName ? { displayName } : {}),
      },
      'setup-link',
      () => setup.claim(fields.token),
    );
    if (!result.ok) return result.error === 'closed' ? closed(c) : again(result.message);
    const user = result.user;
    await auth.startSession(c, { userId: user.id, epoch: user.epoch });
    setFlash(c, 'welcome');
    return c.redirect('/account', 303);
  });
}
