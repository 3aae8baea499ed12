import {
  createUser,
  lockUser,
  resetPassword,
  revokeAllSessions,
  setRoles,
  unlockUser,
  updateProfile,
} from '../../auth/accounts/index.js';
import { AccountError, checkDisplayName, normalizeRoles, ROLES_MESSAGE } from '../../auth/users.js';
import { booleanField, listField, readInput, stringField } from '../http/body.js';
import { type App, adminUserJson, type ServerDeps } from '../http/context.js';
import { ApiError, accepted } from '../http/errors.js';
import { userIdParam } from '../http/params.js';

const ROLES_SENTENCE = `${ROLES_MESSAGE.charAt(0).toUpperCase()}${ROLES_MESSAGE.slice(1)}.`;

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

  /**
   * Applies `roles`, then `locked`, then `displayName`; every input is checked before anything is
   * written, and the first refused action stops the rest (its answer says which).
   */
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
    // Checked up front, so a bad field changes nothing, not even the fields before it.
    if (roles !== undefined && !normalizeRoles(roles)) throw new ApiError('bad_request', `${ROLES_SENTENCE}`);
    if (displayName !== undefined) {
      try {
        checkDisplayName(displayName);
      } catch (error) {
        if (error instanceof AccountError) throw new ApiError('bad_request', `${error.message}.`);
        throw error;
      }
    }
    const by = c.get('user')!.id;
    if (roles !== undefined) accepted(await setRoles(account, id, roles, by));
    if (locked === true) accepted(await lockUser(account, id, by));
    if (locked === false) accepted(await unlockUser(account, id, by));
    if (displayName !== undefined) accepted(await updateProfile(account, id, { displayName }));
    const record = await users.getById(id);
    if (!record) throw new ApiError('not_found', 'No such user.');
    return c.json({ user: adminUserJson(record) });
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
