import { createUser, resetPassword, revokeAllSessions, updateUser } from 'cloakroom';
import { booleanField, listField, readInput, stringField } from '../http/body.js';
import { type App, adminUserJson, type ServerDeps } from '../http/context.js';
import { ApiError, accepted } from '../http/errors.js';
import { userIdParam } from '../http/params.js';

/** User administration: role `admin` only. Every rule lives in the account actions. */
export function adminRoutes(app: App, deps: ServerDeps): void {
  const { auth, users, account } = deps;
  app.use('/api/admin/*', auth.requireRole('admin'));

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
}
