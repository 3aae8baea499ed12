import { bootstrapAdmin } from 'cloakroom';
import type { Context } from 'hono';
import type { SetupToken } from '../../boot/setup-token.js';
import { readInput } from '../../http/body.js';
import type { App, ServerDeps } from '../../http/context.js';
import { setFlash } from '../flash.js';
import { formText } from '../helpers.js';
import { MessagePage } from '../layout.js';
import { SetupPage } from './page.js';

/**
 * The first-run set-up page: the one-time link creates the first admin. It has its own CSRF
 * checks (there is no session yet); the link is claimed atomically by the account action.
 */
export function setupPages(app: App, deps: ServerDeps, setup: SetupToken | null): void {
  const { sessions, auth } = deps;

  /**
   * The link no longer works. Once any user exists (made through this link, the CLI or
   * CLOAKROOM_ADMIN_*), what the visitor needs is the sign-in page; otherwise the link is
   * wrong, used or past its hour.
   */
  const closed = async (c: Context) => {
    const text =
      (await deps.users.count()) > 0
        ? 'An administrator already exists; sign in instead.'
        : 'This set-up link has been used or has expired.';
    return c.html(<MessagePage status={404} title="Set-up is closed" text={text} />, 404);
  };

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
    /** The form again, as typed (but the passwords), focused on the field to fix. */
    const again = (error: string, field = 'password') => {
      const { token } = sessions.issueLoginToken(req);
      return c.html(
        <SetupPage
          setupToken={formText(fields, 'token')}
          csrf={token}
          error={error}
          username={formText(fields, 'username')}
          displayName={formText(fields, 'displayName')}
          focus={field === 'username' || field === 'displayName' ? field : 'password'}
        />,
        400,
      );
    };
    if (formText(fields, 'password') !== formText(fields, 'confirm'))
      return again('The passwords do not match.');
    const displayName = formText(fields, 'displayName').trim();
    const result = await bootstrapAdmin(
      deps.account,
      {
        username: formText(fields, 'username'),
        password: formText(fields, 'password'),
        ...(displayName ? { displayName } : {}),
      },
      'setup-link',
      () => setup.claim(fields.token),
    );
    if (!result.ok) {
      if (result.error === 'closed') return closed(c);
      return again(result.message, 'field' in result ? result.field : 'username');
    }
    const user = result.user;
    await auth.startSession(c, { userId: user.id, epoch: user.epoch });
    setFlash(c, 'welcome');
    return c.redirect('/account', 303);
  });
}
