import {
  type AccountFailure,
  beginTotpEnrolment,
  confirmTotpEnrolment,
  disableSecondFactor,
  regenerateRecoveryCodes,
  secondFactorStatus,
  toUser,
} from 'cloakroom';
import type { CloakroomEnv } from 'cloakroom/hono';
import type { Context } from 'hono';
import { readInput } from '../../http/body.js';
import type { App, ServerDeps } from '../../http/context.js';
import { accountStatus } from '../../http/errors.js';
import { qrSvg } from '../../http/qr.js';
import { setFlash, takeFlash } from '../flash.js';
import { mustEnrol, pageRecent, pageUser, toReauth } from '../guards.js';
import { formText } from '../helpers.js';
import { EnrolPage, RecoveryCodesPage, SecondFactorPage } from './page.js';

const PAGE = '/account/second-factor';

/**
 * /account/second-factor: set up (begin → QR and key → first code → recovery codes once),
 * new recovery codes, turn off. Every change needs a recent sign-in (else /reauth and back).
 */
export function secondFactorPages(app: App, deps: ServerDeps): void {
  const { sessions, users, auth, account } = deps;
  app.use(PAGE, pageUser());
  app.use(`${PAGE}/*`, pageUser(), pageRecent(deps, PAGE));

  const csrf = (c: Context<CloakroomEnv>) => sessions.csrfToken(c.get('session')!);
  /** A refusal the account action gave: back through /reauth, or the status page and why. */
  const refused = (c: Context<CloakroomEnv>, failure: AccountFailure) =>
    failure.error === 'reauth_required' ? toReauth(c, PAGE) : render(c, failure);

  const render = async (c: Context<CloakroomEnv>, refusal?: AccountFailure) => {
    const record = await users.getById(c.get('user')!.id);
    if (!record) return c.redirect('/login', 303);
    const user = toUser(record);
    return c.html(
      <SecondFactorPage
        user={user}
        csrf={csrf(c)}
        status={secondFactorStatus(record)}
        required={mustEnrol(deps, user)}
        flash={refusal ? null : takeFlash(c)}
        error={refusal?.message ?? null}
      />,
      refusal ? accountStatus(refusal) : 200,
    );
  };

  app.get(PAGE, (c) => render(c));

  app.post(`${PAGE}/totp`, async (c) => {
    const result = await beginTotpEnrolment(account, c.get('session')!);
    if (!result.ok) return refused(c, result);
    const label = 'QR code of the key for your authenticator app (the same key is shown as text)';
    return c.html(
      <EnrolPage
        user={c.get('user')!}
        csrf={csrf(c)}
        secret={result.secret}
        qrSvg={qrSvg(result.uri, label)}
      />,
    );
  });

  app.post(`${PAGE}/totp/confirm`, async (c) => {
    const { fields } = await readInput(c);
    const result = await confirmTotpEnrolment(account, c.get('cloakroomRequest'), c.get('session')!, {
      code: formText(fields, 'code'),
    });
    if (!result.ok) {
      const again =
        result.error === 'invalid_code' || result.error === 'invalid'
          ? 'That code is not right. Check that the app shows a code for this account and try the next one.'
          : result.error === 'not_enrolled'
            ? 'The set-up took too long or was not started. Start again for a new QR code.'
            : null;
      if (again)
        return c.html(
          <EnrolPage user={c.get('user')!} csrf={csrf(c)} error={again} />,
          accountStatus(result),
        );
      return refused(c, result);
    }
    auth.adopt(c, result.issued);
    // The new session's CSRF token: the header's sign-out form must match the rotated session.
    setFlash(c, 'second-factor-on');
    return c.html(
      <RecoveryCodesPage
        user={c.get('user')!}
        csrf={result.issued.csrfToken}
        codes={result.recoveryCodes}
        fresh
      />,
    );
  });

  app.post(`${PAGE}/recovery-codes`, async (c) => {
    const result = await regenerateRecoveryCodes(account, c.get('session')!);
    if (!result.ok) return refused(c, result);
    return c.html(
      <RecoveryCodesPage user={c.get('user')!} csrf={csrf(c)} codes={result.recoveryCodes} fresh={false} />,
    );
  });

  app.post(`${PAGE}/disable`, async (c) => {
    const { fields } = await readInput(c);
    const code = formText(fields, 'code').trim();
    const recoveryCode = formText(fields, 'recoveryCode').trim();
    const result = await disableSecondFactor(account, c.get('cloakroomRequest'), c.get('session')!, {
      ...(recoveryCode ? { recoveryCode } : code ? { code } : {}),
    });
    if (!result.ok) {
      if (result.error === 'throttled') c.header('Retry-After', String(result.retryAfterSeconds));
      return refused(c, result);
    }
    auth.adopt(c, result.issued);
    setFlash(c, 'second-factor-off');
    return c.redirect(PAGE, 303);
  });
}
