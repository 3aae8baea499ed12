import {
  type AccountFailure,
  beginTotpEnrolment,
  confirmTotpEnrolment,
  currentTotpEnrolment,
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
import { mustEnrol } from '../../http/require-second-factor.js';
import { setFlash, takeFlash } from '../flash.js';
import { pageRecent, pageUser, toReauth } from '../guards.js';
import { formText } from '../helpers.js';
import { EnrolPage, RecoveryCodesPage, SecondFactorPage } from './page.js';

const PAGE = '/account/second-factor';
const QR_LABEL = 'QR code of the key for your authenticator app (the same key is shown as text)';

/**
 * /account/second-factor: set up (begin → QR and key → first code → recovery codes once),
 * new recovery codes, turn off. Every change needs a recent sign-in (else /reauth and back).
 * While a set-up is in progress, the page (after a wrong code, or on a later visit) shows the
 * same key again: the authenticator app already holds it. "Start again" makes a new one.
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
        required={mustEnrol(deps.config.require2faRoles, user)}
        passkeysOn={deps.config.passkeys !== null}
        flash={refusal ? null : takeFlash(c)}
        error={refusal?.message ?? null}
      />,
      refusal ? accountStatus(refusal) : 200,
    );
  };

  /** The set-up page: with the key when there is one to show, else only "Start again". */
  const enrolPage = (
    c: Context<CloakroomEnv>,
    key: { secret: string; uri: string } | null,
    error?: { message: string; status: ReturnType<typeof accountStatus> },
  ) =>
    c.html(
      <EnrolPage
        user={c.get('user')!}
        csrf={csrf(c)}
        {...(key ? { secret: key.secret, qrSvg: qrSvg(key.uri, QR_LABEL) } : {})}
        error={error?.message ?? null}
      />,
      error?.status ?? 200,
    );

  app.get(PAGE, async (c) => {
    // A set-up in progress is shown again, with its key (not while the re-auth window is closed:
    // the key is a secret; the status page's "Set up" then goes through /reauth and back here).
    const current = await currentTotpEnrolment(account, c.get('session')!);
    return current.ok ? enrolPage(c, current) : render(c);
  });

  app.post(`${PAGE}/totp`, async (c) => {
    const result = await beginTotpEnrolment(account, c.get('session')!);
    if (!result.ok) return refused(c, result);
    return enrolPage(c, result);
  });

  app.post(`${PAGE}/totp/confirm`, async (c) => {
    const { fields } = await readInput(c);
    const result = await confirmTotpEnrolment(account, c.get('cloakroomRequest'), c.get('session')!, {
      code: formText(fields, 'code'),
    });
    if (!result.ok) {
      if (result.error === 'invalid_code' || result.error === 'invalid') {
        // The same key again: the app already holds it, so the next code from it can still confirm.
        const current = await currentTotpEnrolment(account, c.get('session')!);
        const message =
          'That code is not right. Check that the app shows a code for this account and try the next one.';
        return enrolPage(c, current.ok ? current : null, { message, status: accountStatus(result) });
      }
      if (result.error === 'not_enrolled') {
        const message = 'The set-up took too long or was not started. Start again for a new QR code.';
        return enrolPage(c, null, { message, status: accountStatus(result) });
      }
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
