import type { Context } from 'hono';
import type { CloakroomEnv } from '../../adapters/hono/index.js';
import type { UserPatch } from '../../auth/types.js';
import { AccountError, checkRoles, createAccount } from '../../auth/users.js';
import { readInput } from '../body.js';
import type { App, ServerDeps } from '../context.js';
import { audit } from '../logger.js';
import { AdminPage } from '../pages/admin.js';
import { setFlash, takeFlash } from '../pages/flash.js';
import { isUserId } from '../params.js';
import { pageAdmin, pageUser } from './pages-account.js';

const text = (fields: Record<string, unknown>, name: string) =>
  typeof fields[name] === 'string' ? (fields[name] as string) : '';
const roleList = (raw: string) =>
  raw
    .split(',')
    .map((r) => r.trim().toLowerCase())
    .filter(Boolean);

/** /admin and its forms (role admin). */
export function adminPages(app: App, deps: ServerDeps): void {
  const { sessions, users, logger, clock } = deps;
  app.use('/admin', pageUser(), pageAdmin(deps));
  app.use('/admin/*', pageUser(), pageAdmin(deps));

  app.get('/admin', async (c) =>
    c.html(
      <AdminPage
        user={c.get('user')!}
        csrf={sessions.csrfToken(c.get('session')!)}
        users={await users.list()}
        flash={takeFlash(c)}
      />,
    ),
  );

  app.post('/admin/users', async (c) => {
    const { fields } = await readInput(c);
    try {
      const displayName = text(fields, 'displayName').trim();
      const user = await createAccount(
        users,
        deps.passwords,
        {
          username: text(fields, 'username'),
          password: text(fields, 'password'),
          roles: roleList(text(fields, 'roles')),
          ...(displayName ? { displayName } : {}),
        },
        clock.now(),
      );
      audit(logger, 'user.created', {
        userId: user.id,
        username: user.username,
        roles: user.roles,
        by: c.get('user')!.id,
      });
      setFlash(c, 'user-created');
    } catch (error) {
      if (!(error instanceof AccountError)) throw error;
      setFlash(c, error.code === 'taken' ? 'username-taken' : 'user-invalid');
    }
    return c.redirect('/admin', 303);
  });

  const change = (action: 'roles' | 'lock' | 'unlock') => async (c: Context<CloakroomEnv>) => {
    const id = c.req.param('id') ?? '';
    const target = isUserId(id) ? await users.getById(id) : null;
    if (!target) {
      setFlash(c, 'user-missing');
      return c.redirect('/admin', 303);
    }
    const { fields } = await readInput(c);
    const by = c.get('user')!.id;
    const patch: UserPatch = {};
    try {
      if (action === 'roles') patch.roles = checkRoles(roleList(text(fields, 'roles')));
    } catch {
      setFlash(c, 'roles-invalid');
      return c.redirect('/admin', 303);
    }
    if (action === 'lock') patch.locked = true;
    if (action === 'unlock') patch.locked = false;
    if (id === by && (patch.locked || (patch.roles && !patch.roles.includes('admin')))) {
      setFlash(c, 'self-protect');
      return c.redirect('/admin', 303);
    }
    const updated = await users.update(id, patch, clock.now());
    if (action === 'roles') {
      audit(logger, 'role.changed', { userId: id, from: target.roles, to: updated?.roles ?? [], by });
      setFlash(c, 'roles-saved');
    } else if (action === 'lock') {
      const revoked = await sessions.revokeUser(id);
      audit(logger, 'user.locked', { userId: id, revokedSessions: revoked, by });
      setFlash(c, 'user-locked');
    } else {
      audit(logger, 'user.unlocked', { userId: id, by });
      setFlash(c, 'user-unlocked');
    }
    return c.redirect('/admin', 303);
  };
  app.post('/admin/users/:id/roles', change('roles'));
  app.post('/admin/users/:id/lock', change('lock'));
  app.post('/admin/users/:id/unlock', change('unlock'));

  app.post('/admin/users/:id/revoke-sessions', async (c) => {
    const id = c.req.param('id');
    if (!isUserId(id) || !(await users.getById(id))) {
      setFlash(c, 'user-missing');
      return c.redirect('/admin', 303);
    }
    const revoked = await sessions.revokeUser(id);
    audit(logger, 'sessions.revoked', { userId: id, count: revoked, by: c.get('user')!.id });
    setFlash(c, 'sessions-revoked', revoked);
    return c.redirect('/admin', 303);
  });
}
