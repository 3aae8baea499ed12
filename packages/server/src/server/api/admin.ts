import {
  createUser,
  isSafeMethod,
  issueRecoveryLink,
  listSessions,
  resetPassword,
  resetSecondFactor,
  revokeAllSessions,
  updateUser,
} from 'cloakroom';
import { booleanField, listField, readInput, stringField } from '../http/body.js';
import { type App, adminUserJson, type ServerDeps, sessionInfoJson } from '../http/context.js';
import { ApiError, accepted } from '../http/errors.js';
import { userIdParam } from '../http/params.js';
import { recoveryLinkFor } from '../http/recovery-url.js';

/**
 * User administration: role `admin` only, and every change (any method but GET/HEAD/OPTIONS)
 * only within the re-auth window (403 `reauth_required`): a session left open, or a stolen
 * cookie, must not be enough to hand out roles or recovery links. Every rule lives in the account
 * actions.
 */
export function adminRoutes(app: App, deps: ServerDeps): void {
  const { auth, users, account, config } = deps;
  app.use('/api/admin/*', auth.requireRole('admin'));
  const recent = auth.requireRecentAuth();
  app.use('/api/admin/*', (c, next) => (isSafeMethod(c.req.method) ? next() : recent(c, next)));

  app.get('/api/admin/users', async (c) => c.json({ users: (await users.list()).map(adminUserJson) }));

  app.post('/api/admin/users', async (c) => {
    const input = await readInput(c);
    const username = stringField(input, 'username', { max: 256 })!;
    const password = stringField(input, 'password', { max: 1024 })!;
    const displayName = stringField(input, 'displayName', { optional: true, max: 400 });
    const roles = listField(input, 'roles') ?? [];
    const { user } = accepted(
      await createUser(
        account,
        { username, password, roles, ...(displayName ? { displayName } : {}) },
        c.get('user')!.id,
      ),
    );
    return c.json({ user: adminUserJson(user) }, 201);
  });

  /** Roles, lock and display name in one request: all checked first, then applied in that order. */
  app.patch('/api/admin/users/:id', async (c) => {
    const id = userIdParam(c);
    const input = await readInput(c);
    const roles = listField(input, 'roles');
    const locked = input.fields.locked === undefined ? undefined : booleanField(input, 'locked');
    const displayName = input.fields.displayName;
    // An empty change is most likely a misspelt field: say so.
    if (roles === undefined && locked === undefined && displayName === undefined) {
      throw new ApiError('bad_request', 'Send at least one of roles, locked, displayName.');
    }
    const update = {
      ...(roles === undefined ? {} : { roles }),
      ...(locked === undefined ? {} : { locked }),
      ...(displayName === undefined ? {} : { displayName }),
    };
    const { user } = accepted(await updateUser(account, id, update, c.get('user')!.id));
    return c.json({ user: adminUserJson(user) });
  });

  /**
   * A user's live sessions, most recently seen first, with `bound` (device-bound); `current` marks
   * only the admin's own session. Read-only: no CSRF token, no re-auth.
   */
  app.get('/api/admin/users/:id/sessions', async (c) => {
    const id = userIdParam(c);
    if (!(await users.getById(id))) throw new ApiError('not_found', 'No such user.');
    const list = await listSessions(account, id, c.get('session'));
    return c.json({ sessions: list.map(sessionInfoJson) });
  });

  app.post('/api/admin/users/:id/password', async (c) => {
    const id = userIdParam(c);
    const input = await readInput(c);
    const password = stringField(input, 'password', { max: 1024 })!;
    const { revokedSessions } = accepted(await resetPassword(account, id, password, c.get('user')!.id));
    return c.json({ revokedSessions });
  });

  app.post('/api/admin/users/:id/revoke-sessions', async (c) => {
    const id = userIdParam(c);
    const { revoked } = accepted(await revokeAllSessions(account, id, c.get('user')!.id));
    return c.json({ revoked });
  });

  /** Removes the user's second factor (lost authenticator); every session of theirs ends. */
  app.post('/api/admin/users/:id/second-factor/reset', async (c) => {
    const id = userIdParam(c);
    const { user, revokedSessions } = accepted(await resetSecondFactor(account, id, c.get('user')!.id));
    return c.json({ user: adminUserJson(user), revoked: revokedSessions });
  });

  /**
   * A one-time recovery link (1 hour) for a user who cannot sign in. The link is shown to the
   * admin once, to pass on; only its hash is stored. On `CLOAKROOM_PUBLIC_URL`, or else on the
   * origin this request came to (the admin's own address bar).
   */
  app.post('/api/admin/users/:id/recovery-link', async (c) => {
    const id = userIdParam(c);
    // The body is optional (`{}` by default): a bare POST issues a link that keeps the factor.
    const input = c.req.header('content-type') === undefined ? null : await readInput(c);
    const clearSecondFactor = (input && booleanField(input, 'clearSecondFactor')) ?? false;
    const { token, expiresAt } = accepted(
      await issueRecoveryLink(account, id, { clearSecondFactor }, c.get('user')!.id),
    );
    const url = recoveryLinkFor(config.publicUrl, c.get('cloakroomRequest'), token);
    return c.json({ url, expiresAt: new Date(expiresAt).toISOString() }, 201);
  });
}
