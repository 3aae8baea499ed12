import {
  type AccountFailure,
  changePassword,
  listSessions,
  revokeSession,
  secondFactorStatus,
  signOutOthers,
  toUser,
  updateProfile,
} from 'cloakroom';
import type { CloakroomEnv } from 'cloakroom/hono';
import type { Context } from 'hono';
import { readInput } from '../../http/body.js';
import type { App, ServerDeps } from '../../http/context.js';
import { accountStatus } from '../../http/errors.js';
import { audit } from '../../http/logger.js';
import { setFlash, takeFlash } from '../flash.js';
import { pageRecent, pageUser, toReauth } from '../guards.js';
import { formText } from '../helpers.js';
import { AccountPage } from './page.js';

/** /account and its forms: a change answers with a redirect and a flash, a refusal with the page and why. */
export function accountPages(app: App, deps: ServerDeps): void {
  const { sessions, users, auth, logger, account } = deps;
  app.post('/logout', async (c) => {
    const session = c.get('session');
    await auth.endSession(c);
    if (session) audit(logger, 'logout', { userId: session.userId, session: session.id });
    setFlash(c, 'signed-out');
    return c.redirect('/login', 303);
  });

  app.get('/', (c) => c.redirect(c.get('user') ? '/account' : '/login', 302));

  /** The account page, with a flash from the cookie or (for a refusal) the reason and its status. */
  const render = async (c: Context<CloakroomEnv>, refusal?: AccountFailure) => {
    const list = await listSessions(account, c.get('user')!.id, c.get('session'));
    const record = await users.getById(c.get('user')!.id);
    const factor = record
      ? secondFactorStatus(record)
      : { enabled: false, recoveryCodesLeft: 0, enrolledAt: null, passkeys: 0 };
    return c.html(
      <AccountPage
        user={c.get('user')!}
        csrf={sessions.csrfToken(c.get('session')!)}
        sessions={list}
        now={deps.clock.now()}
        factor={factor}
        passkeysOn={deps.config.passkeys !== null}
        flash={refusal ? { kind: 'error', text: refusal.message } : takeFlash(c)}
      />,
      refusal ? accountStatus(refusal) : 200,
    );
  };

  app.use('/account', pageUser());
  app.use('/account/profile', pageUser());
  app.use('/account/password', pageUser(), pageRecent(deps, '/account'));
  app.use('/account/sessions/*', pageUser());
  app.use('/account/sessions/revoke-others', pageRecent(deps, '/account'));

  /** A refused change: through /reauth when the sign-in is too old, else the page and why. */
  const refused = (c: Context<CloakroomEnv>, failure: AccountFailure) =>
    failure.error === 'reauth_required' ? toReauth(c, '/account') : render(c, failure);

  app.get('/account', (c) => render(c));

  app.post('/account/profile', async (c) => {
    const { fields } = await readInput(c);
    const result = await updateProfile(account, c.get('user')!.id, fields);
    if (!result.ok) return render(c, result);
    c.set('user', toUser(result.user));
    setFlash(c, 'profile-saved');
    return c.redirect('/account', 303);
  });

  app.post('/account/password', async (c) => {
    const { fields } = await readInput(c);
    if (formText(fields, 'newPassword') !== formText(fields, 'confirmPassword')) {
      setFlash(c, 'password-mismatch');
      return c.redirect('/account', 303);
    }
    const result = await changePassword(account, c.get('cloakroomRequest'), c.get('session')!, fields);
    if (!result.ok) {
      if (result.error === 'throttled') c.header('Retry-After', String(result.retryAfterSeconds));
      return refused(c, result);
    }
    auth.adopt(c, result.issued);
    setFlash(c, 'password-changed');
    return c.redirect('/account', 303);
  });

  app.post('/account/sessions/revoke-others', async (c) => {
    const result = await signOutOthers(account, c.get('cloakroomRequest'), c.get('session')!);
    if (!result.ok) return refused(c, result);
    auth.adopt(c, result.issued);
    setFlash(c, 'others-signed-out', result.revoked);
    return c.redirect('/account', 303);
  });

  app.post('/account/sessions/:id/revoke', async (c) => {
    const id = c.req.param('id');
    const session = c.get('session')!;
    const result = await revokeSession(account, session.userId, id, session.id);
    if (result.ok && id === session.id) {
      await auth.endSession(c);
      setFlash(c, 'signed-out');
      return c.redirect('/login', 303);
    }
    setFlash(c, result.ok ? 'session-ended' : 'session-missing');
    return c.redirect('/account', 303);
  });
}
