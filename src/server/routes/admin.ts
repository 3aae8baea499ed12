import type { UserPatch } from '../../auth/types.js';
import { AccountError, checkDisplayName, checkRoles, createAccount } from '../../auth/users.js';
import { booleanField, listField, readInput, stringField } from '../body.js';
import { type App, adminUserJson, type ServerDeps } from '../context.js';
import { ApiError } from '../http.js';
import { audit } from '../logger.js';
import { userIdParam } from '../params.js';

function asApiError(error: unknown): never {
  if (error instanceof AccountError) {
    throw new ApiError(error.code === 'taken' ? 'conflict' : 'bad_request', error.message);
  }
  throw error;
}

/** User administration: role `admin` only. */
export function adminRoutes(app: App, deps: ServerDeps): void {
  const { auth, users, sessions, logger, clock } = deps;
  app.use('/api/admin/*', auth.requireRole('admin'));

  app.get('/api/admin/users', async (c) => c.json({ users: (await users.list()).map(adminUserJson) }));

  app.post('/api/admin/users', async (c) => {
    const input = await readInput(c);
    const username = stringField(input, 'username', { max: 256 })!;
    const password = stringField(input, 'password', { max: 1024 })!;
    const displayName = stringField(input, 'displayName', { optional: true, max: 400 });
    const roles = listField(input, 'roles') ?? [];
    const user = await createAccount(
      users,
      deps.passwords,
      { username, password, roles, ...(displayName ? { displayName } : {}) },
      clock.now(),
    ).catch(asApiError);
    audit(logger, 'user.created', {
      userId: user.id,
      username: user.username,
      roles: user.roles,
      by: c.get('user')!.id,
    });
    // The admin view, like PATCH and GET answer (locked, createdAt, updatedAt): read back from
    // the store, which assigned the id and the times.
    const record = await users.getById(user.id);
    if (!record) throw new ApiError('not_found', 'The new user was deleted before it could be shown.');
    return c.json({ user: adminUserJson(record) }, 201);
  });

  app.patch('/api/admin/users/:id', async (c) => {
    const id = userIdParam(c);
    const target = await users.getById(id);
    if (!target) throw new ApiError('not_found', 'No such user.');
    const input = await readInput(c);
    const patch: UserPatch = {};
    try {
      const roles = listField(input, 'roles');
      if (roles !== undefined) patch.roles = checkRoles(roles);
      const locked = input.fields.locked === undefined ? undefined : booleanField(input, 'locked');
      if (locked !== undefined) patch.locked = locked;
      if (input.fields.displayName !== undefined)
        patch.displayName = checkDisplayName(input.fields.displayName);
    } catch (error) {
      asApiError(error);
    }
    // An empty change would only bump updatedAt: most likely a misspelt field, so say so.
    if (Object.keys(patch).length === 0) {
      throw new ApiError('bad_request', 'Send at least one of roles, locked, displayName.');
    }
    const self = id === c.get('user')!.id;
    // An admin cannot lock themselves out of administration by accident.
    if (self && (patch.locked || (patch.roles && !patch.roles.includes('admin')))) {
      throw new ApiError(
        'bad_request',
        'You cannot lock yourself or remove your own admin role; ask another admin.',
      );
    }
    const updated = await users.update(id, patch, clock.now());
    if (!updated) throw new ApiError('not_found', 'No such user.');
    const by = c.get('user')!.id;
    if (patch.roles && [...patch.roles].sort().join() !== [...target.roles].sort().join()) {
      // Roles are read on every request, so the change applies to the user's very next one.
      audit(logger, 'role.changed', { userId: id, from: target.roles, to: updated.roles, by });
    }
    if (patch.locked === true && !target.locked) {
      const revoked = await sessions.revokeUser(id);
      audit(logger, 'user.locked', { userId: id, revokedSessions: revoked, by });
    }
    if (patch.locked === false && target.locked) audit(logger, 'user.unlocked', { userId: id, by });
    return c.json({ user: adminUserJson(updated) });
  });

  app.post('/api/admin/users/:id/revoke-sessions', async (c) => {
    const id = userIdParam(c);
    if (!(await users.getById(id))) throw new ApiError('not_found', 'No such user.');
    const revoked = await sessions.revokeUser(id);
    audit(logger, 'sessions.revoked', { userId: id, count: revoked, by: c.get('user')!.id });
    return c.json({ revoked });
  });
}
