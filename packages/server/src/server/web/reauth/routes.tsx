import { reauthenticate, secondFactorStatus } from 'cloakroom';
import type { CloakroomEnv } from 'cloakroom/hono';
import type { Context } from 'hono';
import { readInput } from '../../http/body.js';
import type { App, ServerDeps } from '../../http/context.js';
import { accountStatus } from '../../http/errors.js';
import { pageUser } from '../guards.js';
import { formText, safeNext } from '../helpers.js';
import { allowPasskeyScript } from '../passkey-ui.js';
import { ReauthPage } from './page.js';

/** GET/POST /reauth?next=…: a fresh proof of the factors, then back to `next` (same origin only). */
export function reauthPages(app: App, deps: ServerDeps): void {
  const { sessions, auth, account, users } = deps;

  const render = async (
    c: Context<CloakroomEnv>,
    status: 200 | 400 | 401 | 429,
    next: string,
    extra: { error?: string; focus?: 'password' | 'code' } = {},
  ) => {
    const record = await users.getById(c.get('user')!.id);
    const factors = record ? secondFactorStatus(record) : { enabled: false, passkeys: 0 };
    const passkeys = deps.config.passkeys !== null && factors.passkeys > 0;
    if (passkeys) allowPasskeyScript(c);
    return c.html(
      <ReauthPage
        user={c.get('user')!}
        csrf={sessions.csrfToken(c.get('session')!)}
        next={next}
        totp={factors.enabled}
        passkeys={passkeys}
        {...extra}
      />,
      status,
    );
  };

  app.get('/reauth', pageUser(), (c) => render(c, 200, safeNext(c.req.query('next'))));

  app.post('/reauth', pageUser(), async (c) => {
    const { fields } = await readInput(c);
    const next = safeNext(fields.next);
    const code = formText(fields, 'code').trim();
    const recoveryCode = formText(fields, 'recoveryCode').trim();
    const result = await reauthenticate(account, c.get('cloakroomRequest'), c.get('session')!, {
      password: formText(fields, 'password'),
      ...(recoveryCode ? { recoveryCode } : code ? { code } : {}),
    });
    if (!result.ok) {
      if (result.error === 'throttled') c.header('Retry-After', String(result.retryAfterSeconds));
      const focus = result.error === 'invalid_code' ? 'code' : 'password';
      return render(c, accountStatus(result) as 400 | 401 | 429, next, { error: result.message, focus });
    }
    auth.adopt(c, result.issued);
    return c.redirect(next, 303);
  });
}
