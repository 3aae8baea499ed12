import { changePassword, listSessions, revokeSession, signOutOthers, toUser, updateProfile } from 'cloakroom';
import { readInput } from '../http/body.js';
import { type App, type ServerDeps, sessionInfoJson, sessionJson } from '../http/context.js';
import { accepted } from '../http/errors.js';
import { audit } from '../http/logger.js';
import { sessionIdParam } from '../http/params.js';
import { passkeyAccountRoutes } from './passkeys.js';
import { secondFactorRoutes } from './second-factor.js';

/**
 * Sign-out, the current session, profile, password, the user's own sessions, re-authentication,
 * the second factor and passkeys.
 */
export function accountRoutes(app: App, deps: ServerDeps): void {
  const { sessions, auth, logger, account } = deps;

  app.post('/api/logout', async (c) => {
    const session = c.get('session');
    // Without a session there is nothing to end: still 204, and the cookie is cleared.
    await auth.endSession(c);
    if (session) audit(logger, 'logout', { userId: session.userId, session: session.id });
    return c.body(null, 204);
  });

  app.get('/api/session', auth.requireUser(), (c) => {
    const session = c.get('session')!;
    return c.json({
      user: c.get('user'),
      csrfToken: sessions.csrfToken(session),
      session: sessionJson(session),
    });
  });

  app.patch('/api/profile', auth.requireUser(), async (c) => {
    const input = await readInput(c);
    const { user } = accepted(await updateProfile(account, c.get('user')!.id, input.fields));
    return c.json({ user: toUser(user) });
  });

  app.post('/api/password', auth.requireUser(), async (c) => {
    const input = await readInput(c);
    const { issued } = accepted(
      await changePassword(account, c.get('cloakroomRequest'), c.get('session')!, input.fields),
    );
    // This session carries on under a new ticket; every other one has ended.
    auth.adopt(c, issued);
    return c.body(null, 204);
  });

  app.get('/api/sessions', auth.requireUser(), async (c) => {
    const list = await listSessions(account, c.get('user')!.id, c.get('session'));
    return c.json({ sessions: list.map(sessionInfoJson) });
  });

  app.delete('/api/sessions/:id', auth.requireUser(), async (c) => {
    const id = sessionIdParam(c);
    const session = c.get('session')!;
    accepted(await revokeSession(account, session.userId, id, session.id));
    if (id === session.id) await auth.endSession(c);
    return c.body(null, 204);
  });

  app.post('/api/sessions/revoke-others', auth.requireUser(), async (c) => {
    const { revoked, issued } = accepted(
      await signOutOthers(account, c.get('cloakroomRequest'), c.get('session')!),
    );
    // This session carries on under a new ticket (Set-Cookie); its CSRF tokens stay valid.
    auth.adopt(c, issued);
    return c.json({ revoked });
  });

  secondFactorRoutes(app, deps);
  passkeyAccountRoutes(app, deps);
}
