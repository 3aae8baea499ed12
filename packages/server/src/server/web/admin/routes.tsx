import {
  type AccountFailure,
  createUser,
  issueRecoveryLink,
  listSessions,
  lockUser,
  resetSecondFactor,
  revokeAllSessions,
  setRoles,
  unlockUser,
} from 'cloakroom';
import type { CloakroomEnv } from 'cloakroom/hono';
import type { Context } from 'hono';
import { readInput } from '../../http/body.js';
import type { App, ServerDeps } from '../../http/context.js';
import { accountStatus } from '../../http/errors.js';
import { isUserId } from '../../http/params.js';
import { recoveryLinkFor } from '../../http/recovery-url.js';
import { setFlash, takeFlash } from '../flash.js';
import { pageAdmin, pageRecent, pageUser, toReauth } from '../guards.js';
import { formText } from '../helpers.js';
import { RecoveryLinkPage } from './link-page.js';
import { AdminPage, type UserDraft } from './page.js';
import { AdminSessionsPage } from './sessions-page.js';

/** The form's comma-separated roles; the account actions normalise each name. */
const roleList = (raw: string) =>
  raw
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);

/** /admin and its forms (role admin): a change redirects with a flash, a refusal shows the page and why. */
export function adminPages(app: App, deps: ServerDeps): void {
  const { sessions, users, account } = deps;
  app.use('/admin', pageUser(), pageAdmin(deps));
  // Every admin change to another user needs a recent sign-in: else /reauth and back here.
  app.use('/admin/*', pageUser(), pageAdmin(deps), pageRecent(deps, '/admin'));

  const render = async (c: Context<CloakroomEnv>, refusal?: AccountFailure, draft?: UserDraft) =>
    refusal?.error === 'reauth_required'
      ? toReauth(c, '/admin')
      : c.html(
          <AdminPage
            user={c.get('user')!}
            csrf={sessions.csrfToken(c.get('session')!)}
            users={await users.list()}
            flash={refusal ? { kind: 'error', text: refusal.message } : takeFlash(c)}
            draft={draft ?? null}
          />,
          refusal ? accountStatus(refusal) : 200,
        );

  app.get('/admin', (c) => render(c));

  app.post('/admin/users', async (c) => {
    const { fields } = await readInput(c);
    const displayName = formText(fields, 'displayName').trim();
    const result = await createUser(
      account,
      {
        username: formText(fields, 'username'),
        password: formText(fields, 'password'),
        roles: roleList(formText(fields, 'roles')),
        ...(displayName ? { displayName } : {}),
      },
      c.get('user')!.id,
    );
    if (!result.ok) {
      const draft = {
        username: formText(fields, 'username'),
        displayName: formText(fields, 'displayName'),
        roles: formText(fields, 'roles'),
      };
      return render(c, result, draft);
    }
    setFlash(c, 'user-created');
    return c.redirect('/admin', 303);
  });

  const change =
    (action: 'roles' | 'lock' | 'unlock' | 'revoke-sessions') => async (c: Context<CloakroomEnv>) => {
      const id = c.req.param('id') ?? '';
      const { fields } = await readInput(c);
      const by = c.get('user')!.id;
      // Not even the shape of a user id: the same answer as an unknown one, no store asked.
      if (!isUserId(id)) return render(c, { ok: false, error: 'not_found', message: 'No such user.' });
      const result =
        action === 'roles'
          ? await setRoles(account, id, roleList(formText(fields, 'roles')), by)
          : action === 'lock'
            ? await lockUser(account, id, by)
            : action === 'unlock'
              ? await unlockUser(account, id, by)
              : await revokeAllSessions(account, id, by);
      if (!result.ok) return render(c, result);
      if (action === 'roles') setFlash(c, 'roles-saved');
      else if (action === 'lock') setFlash(c, 'user-locked');
      else if (action === 'unlock') setFlash(c, 'user-unlocked');
      else setFlash(c, 'sessions-revoked', 'revoked' in result ? result.revoked : 0);
      return c.redirect('/admin', 303);
    };
  app.post('/admin/users/:id/roles', change('roles'));
  app.post('/admin/users/:id/lock', change('lock'));
  app.post('/admin/users/:id/unlock', change('unlock'));
  app.post('/admin/users/:id/revoke-sessions', change('revoke-sessions'));

  /** Where a user is signed in, and which sessions are device-bound: read-only, no re-auth. */
  app.get('/admin/users/:id/sessions', async (c) => {
    const id = c.req.param('id');
    if (!isUserId(id)) return render(c, noSuchUser);
    const target = await users.getById(id);
    if (!target) return render(c, noSuchUser);
    return c.html(
      <AdminSessionsPage
        user={c.get('user')!}
        csrf={sessions.csrfToken(c.get('session')!)}
        target={target}
        sessions={await listSessions(account, id, c.get('session'))}
        now={deps.clock.now()}
      />,
    );
  });
  recoveryPages(app, deps, render);
}

/** `/admin/users/:id/second-factor/reset` and `/admin/users/:id/recovery-link`. */
function recoveryPages(
  app: App,
  deps: ServerDeps,
  render: (c: Context<CloakroomEnv>, refusal?: AccountFailure) => Promise<Response>,
): void {
  const { sessions, account, config } = deps;
  app.post('/admin/users/:id/second-factor/reset', async (c) => {
    const id = c.req.param('id');
    if (!isUserId(id)) return render(c, noSuchUser);
    const result = await resetSecondFactor(account, id, c.get('user')!.id);
    if (!result.ok) return render(c, result);
    setFlash(c, 'second-factor-reset');
    return c.redirect('/admin', 303);
  });

  app.post('/admin/users/:id/recovery-link', async (c) => {
    const id = c.req.param('id');
    const { fields } = await readInput(c);
    if (!isUserId(id)) return render(c, noSuchUser);
    const clearSecondFactor = fields.clearSecondFactor === 'on';
    const result = await issueRecoveryLink(account, id, { clearSecondFactor }, c.get('user')!.id);
    if (!result.ok) return render(c, result);
    const url = recoveryLinkFor(config.publicUrl, c.get('cloakroomRequest'), result.token);
    return c.html(
      <RecoveryLinkPage
        user={c.get('user')!}
        csrf={sessions.csrfToken(c.get('session')!)}
        target={result.user}
        url={url}
        expiresAt={result.expiresAt}
        clearSecondFactor={clearSecondFactor}
      />,
    );
  });
}

const noSuchUser: AccountFailure = { ok: false, error: 'not_found', message: 'No such user.' };
