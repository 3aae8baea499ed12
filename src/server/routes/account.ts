import { passwordPolicyError } from '../../auth/passwords.js';
import { AccountError, checkDisplayName, toUser } from '../../auth/users.js';
import { readInput, stringField } from '../body.js';
import { type App, type ServerDeps, sessionInfoJson, sessionJson } from '../context.js';
import { ApiError } from '../http.js';
import { audit } from '../logger.js';
import { sessionIdParam } from '../params.js';

/** Sign-out, the current session, profile, password and the user's own sessions. */
export function accountRoutes(app: App, deps: ServerDeps): void {
  const { sessions, auth, logger } = deps;

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
    let displayName: string;
    try {
      displayName = checkDisplayName(input.fields.displayName);
    } catch (error) {
      if (error instanceof AccountError) throw new ApiError('bad_request', error.message);
      throw error;
    }
    const updated = await deps.users.update(c.get('user')!.id, { displayName }, deps.clock.now());
    if (!updated) throw new ApiError('unauthenticated', 'Sign in first.');
    audit(logger, 'profile.updated', { userId: updated.id });
    return c.json({ user: toUser(updated) });
  });

  app.post('/api/password', auth.requireUser(), async (c) => {
    const input = await readInput(c);
    const current = stringField(input, 'currentPassword', { max: 1024 })!;
    const next = stringField(input, 'newPassword', { max: 1024 })!;
    const user = c.get('user')!;
    const req = c.get('cloakroomRequest');
    const verdict = await deps.throttle.admit(user.username, req.ip);
    if (verdict.throttled) {
      throw new ApiError('throttled', 'Too many failed attempts; try again later.', {
        'Retry-After': String(verdict.retryAfterSeconds),
      });
    }
    const record = await deps.users.getById(user.id);
    const check = record ? await deps.passwords.verify(record.passwordHash, current) : { ok: false };
    if (!record || !check.ok) {
      // A wrong current password counts towards the account's lockout like a failed sign-in.
      await deps.throttle.fail(user.username, req.ip, { admitted: true });
      audit(logger, 'login.failure', { userId: user.id, route: 'password', ip: req.ip });
      throw new ApiError('invalid_credentials', 'The current password is wrong.');
    }
    await deps.throttle.succeed(user.username, verdict);
    const problem = passwordPolicyError(next);
    if (problem) throw new ApiError('bad_request', `The new password ${problem}.`);
    await deps.users.update(user.id, { passwordHash: await deps.passwords.hash(next) }, deps.clock.now());
    // Every other session of the user ends; this one gets a new ticket (privilege change).
    const revoked = await sessions.revokeUser(user.id, { except: c.get('session') });
    await auth.rotate(c);
    audit(logger, 'password.changed', { userId: user.id, revokedSessions: revoked });
    return c.body(null, 204);
  });

  app.get('/api/sessions', auth.requireUser(), async (c) => {
    const list = await sessions.list(c.get('user')!.id, c.get('session'));
    return c.json({ sessions: list.map(sessionInfoJson) });
  });

  app.delete('/api/sessions/:id', auth.requireUser(), async (c) => {
    const id = sessionIdParam(c);
    const session = c.get('session')!;
    if (!(await sessions.revoke(session.userId, id))) throw new ApiError('not_found', 'No such session.');
    if (id === session.id) await auth.endSession(c);
    audit(logger, 'session.revoked', { userId: session.userId, session: id, by: session.id });
    return c.body(null, 204);
  });

  app.post('/api/sessions/revoke-others', auth.requireUser(), async (c) => {
    const session = c.get('session')!;
    const revoked = await sessions.revokeUser(session.userId, { except: session });
    audit(logger, 'sessions.revoked', { userId: session.userId, count: revoked, kept: session.id });
    return c.json({ revoked });
  });
}
