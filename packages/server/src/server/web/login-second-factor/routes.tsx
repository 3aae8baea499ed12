import { completeSignIn, secondFactorStatus } from 'cloakroom';
import type { CloakroomEnv } from 'cloakroom/hono';
import type { Context } from 'hono';
import type { App, ServerDeps } from '../../http/context.js';
import { setFlash, takeFlash } from '../flash.js';
import { formText, safeNext } from '../helpers.js';
import { checkLoginForm } from '../login-csrf.js';
import { allowPasskeyScript } from '../passkey-ui.js';
import { SecondStepPage } from './page.js';

/**
 * GET/POST /login/second-factor and its Cancel: the second step of signing in. There is no
 * session yet, only the pending state's own cookie, so the login page's CSRF checks apply
 * (the origin gate and the signed login token); it is registered before the session CSRF guard.
 */
export function secondStepPages(app: App, deps: ServerDeps): void {
  const { sessions, auth, metrics, account, users, clock } = deps;

  /** Back to the password step, saying why (no pending state, expired, used, account changed). */
  const startOver = (c: Context<CloakroomEnv>, next: string) => {
    auth.setCookies(c, sessions.clearPending(c.get('cloakroomRequest')));
    setFlash(c, 'sign-in-expired');
    return c.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
  };

  /** The step's form with a fresh login token, or back to /login when nothing is pending. */
  const render = async (
    c: Context<CloakroomEnv>,
    status: 200 | 400 | 401 | 403 | 429,
    next: string,
    extra: { error?: string; errorOn?: 'code' | 'recoveryCode' } = {},
  ) => {
    const req = c.get('cloakroomRequest');
    const pending = sessions.readPending(req);
    const user = pending ? await users.getById(pending.userId) : null;
    if (!pending || !user) return startOver(c, next);
    const { token, setCookie } = sessions.issueLoginToken(req);
    auth.setCookies(c, setCookie);
    const minutesLeft = Math.max(1, Math.ceil((pending.expiresAt - clock.now()) / 60_000));
    const factors = secondFactorStatus(user);
    const passkeys = deps.config.passkeys !== null && factors.passkeys > 0;
    if (passkeys) allowPasskeyScript(c);
    return c.html(
      <SecondStepPage
        token={token}
        next={next}
        username={user.username}
        minutesLeft={minutesLeft}
        totp={factors.enabled}
        passkeys={passkeys}
        flash={takeFlash(c)}
        {...extra}
      />,
      status,
    );
  };

  /** A refused form post (another origin, or no valid login token): nothing was checked. */
  const refuseForgery = async (
    c: Context<CloakroomEnv>,
  ): Promise<{ next: string; fields: Record<string, unknown> } | Response> => {
    const checked = await checkLoginForm(
      deps,
      c,
      'login-second-factor',
      'This sign-in came from another site.',
    );
    if (checked.verdict === 'foreign') return checked.response;
    const next = safeNext(checked.fields.next);
    if (checked.verdict === 'expired')
      return render(c, 403, next, { error: 'The form expired. Please enter the code again.' });
    return { next, fields: checked.fields };
  };

  app.get('/login/second-factor', (c) => render(c, 200, safeNext(c.req.query('next'))));

  app.post('/login/second-factor', async (c) => {
    const checked = await refuseForgery(c);
    if (checked instanceof Response) return checked;
    const { next, fields } = checked;
    const req = c.get('cloakroomRequest');
    const recoveryCode = formText(fields, 'recoveryCode');
    const errorOn = recoveryCode ? 'recoveryCode' : 'code';
    const result = await completeSignIn(
      account,
      req,
      recoveryCode ? { recoveryCode } : { code: formText(fields, 'code') },
    );
    if (!result.ok) {
      // `invalid` (a form of the wrong shape) is counted as the password step counts it.
      metrics.logins.inc({ outcome: result.error === 'invalid' ? 'bad_request' : result.error });
      if (result.error === 'pending_expired') return startOver(c, next);
      if (result.error === 'throttled') {
        c.header('Retry-After', String(result.retryAfterSeconds));
        const minutes = Math.max(1, Math.ceil(result.retryAfterSeconds / 60));
        return render(c, 429, next, {
          errorOn,
          error: `Too many wrong codes. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
        });
      }
      if (result.error === 'invalid_code') {
        const error = recoveryCode
          ? 'That recovery code is wrong or was already used.'
          : 'That code is wrong or was already used. Wait for the next one and try again.';
        return render(c, 401, next, { errorOn, error });
      }
      return render(c, 400, next, { errorOn, error: result.message });
    }
    // Audited by the use case (`login.second-factor`).
    metrics.logins.inc({ outcome: 'success' });
    auth.adopt(c, result.issued);
    if (result.usedRecoveryCode) setFlash(c, 'recovery-code-used', result.recoveryCodesLeft);
    return c.redirect(next, 303);
  });

  app.post('/login/second-factor/cancel', async (c) => {
    const checked = await refuseForgery(c);
    if (checked instanceof Response) return checked;
    auth.setCookies(c, sessions.clearPending(c.get('cloakroomRequest')));
    setFlash(c, 'sign-in-cancelled');
    return c.redirect('/login', 303);
  });
}
