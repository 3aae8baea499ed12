import type { MiddlewareHandler } from 'hono';
import type { CloakroomEnv } from '../../adapters/hono/index.js';
import { passwordPolicyError } from '../../auth/passwords.js';
import { AccountError, checkDisplayName } from '../../auth/users.js';
import { readInput } from '../body.js';
import type { App, ServerDeps } from '../context.js';
import { audit } from '../logger.js';
import { AccountPage } from '../pages/account.js';
import { setFlash, takeFlash } from '../pages/flash.js';
import { MessagePage } from '../pages/layout.js';

/** Pages need a signed-in user: a signed-out browser goes to /login and comes back afterwards. */
export function pageUser(): MiddlewareHandler<CloakroomEnv> {
  return async (c, next) => {
    if (!c.get('user') || !c.get('session')) {
      const url = new URL(c.req.url);
      const back = c.req.method === 'GET' ? `${url.pathname}${url.search}` : '/account';
      return c.redirect(`/login?next=${encodeURIComponent(back)}`, 303);
    }
    await next();
  };
}

/** Admin pages: a signed-in non-admin gets a proper 403 page. */
export function pageAdmin(deps: ServerDeps): MiddlewareHandler<CloakroomEnv> {
  return async (c, next) => {
    if (!c.get('user')?.roles.includes('admin')) {
      return c.html(
        <MessagePage
          status={403}
          title="Admins only"
          text="This page needs the admin role. Ask an administrator if you need access."
          user={c.get('user')}
          csrf={deps.sessions.csrfToken(c.get('session')!)}
        />,
        403,
      );
    }
    await next();
  };
}

const field = (fields: Record<string, unknown>, name: string) =>
  typeof fields[name] === 'string' ? (fields[name] as string) : '';

/** /account and its forms; every change answers with a redirect and a flash. */
export function accountPages(app: App, deps: ServerDeps): void {
  const { sessions, auth, users, logger } = deps;
  app.post('/logout', async (c) => {
    const session = c.get('session');
    await auth.endSession(c);
    if (session) audit(logger, 'logout', { userId: session.userId, session: session.id });
    setFlash(c, 'signed-out');
    return c.redirect('/login', 303);
  });

  app.get('/', (c) => c.redirect(c.get('user') ? '/account' : '/login', 302));

  app.get('/account', pageUser(), async (c) => {
    const list = await sessions.list(c.get('user')!.id, c.get('session'));
    return c.html(
      <AccountPage
        user={c.get('user')!}
        csrf={sessions.csrfToken(c.get('session')!)}
        sessions={list}
        now={deps.clock.now()}
        flash={takeFlash(c)}
      />,
    );
  });

  app.post('/account/profile', pageUser(), async (c) => {
    const { fields } = await readInput(c);
    try {
      const displayName = checkDisplayName(fields.displayName);
      if (!displayName) throw new AccountError('displayName', 'empty');
      await users.update(c.get('user')!.id, { displayName }, deps.clock.now());
      audit(logger, 'profile.updated', { userId: c.get('user')!.id });
      setFlash(c, 'profile-saved');
    } catch (error) {
      if (!(error instanceof AccountError)) throw error;
      setFlash(c, 'display-name-invalid');
    }
    return c.redirect('/account', 303);
  });

  app.post('/account/password', pageUser(), async (c) => {
    const { fields } = await readInput(c);
    const user = c.get('user')!;
    const req = c.get('cloakroomRequest');
    const next = field(fields, 'newPassword');
    if (next !== field(fields, 'confirmPassword')) {
      setFlash(c, 'password-mismatch');
      return c.redirect('/account', 303);
    }
    const verdict = await deps.throttle.admit(user.username, req.ip);
    if (verdict.throttled) {
      setFlash(c, 'too-many-attempts');
      return c.redirect('/account', 303);
    }
    const record = await users.getById(user.id);
    const check = record
      ? await deps.passwords.verify(record.passwordHash, field(fields, 'currentPassword'))
      : { ok: false };
    if (!record || !check.ok) {
      await deps.throttle.fail(user.username, req.ip, { admitted: true });
      audit(logger, 'login.failure', { userId: user.id, route: 'password-page', ip: req.ip });
      setFlash(c, 'password-wrong');
      return c.redirect('/account', 303);
    }
    await deps.throttle.succeed(user.username, verdict);
    if (passwordPolicyError(next)) {
      setFlash(c, 'password-weak');
      return c.redirect('/account', 303);
    }
    await users.update(user.id, { passwordHash: await deps.passwords.hash(next) }, deps.clock.now());
    const revoked = await sessions.revokeUser(user.id, { except: c.get('session') });
    await auth.rotate(c);
    audit(logger, 'password.changed', { userId: user.id, revokedSessions: revoked });
    setFlash(c, 'password-changed');
    return c.redirect('/account', 303);
  });

  app.post('/account/sessions/revoke-others', pageUser(), async (c) => {
    const session = c.get('session')!;
    const revoked = await sessions.revokeUser(session.userId, { except: session });
    audit(logger, 'sessions.revoked', { userId: session.userId, count: revoked, kept: session.id });
    setFlash(c, 'others-signed-out', revoked);
    return c.redirect('/account', 303);
  });

  app.post('/account/sessions/:id/revoke', pageUser(), async (c) => {
    const id = c.req.param('id');
    const session = c.get('session')!;
    const done = await sessions.revoke(session.userId, id);
    if (done) audit(logger, 'session.revoked', { userId: session.userId, session: id, by: session.id });
    if (done && id === session.id) {
      await auth.endSession(c);
      setFlash(c, 'signed-out');
      return c.redirect('/login', 303);
    }
    setFlash(c, done ? 'session-ended' : 'session-missing');
    return c.redirect('/account', 303);
  });
}
