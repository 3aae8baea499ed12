import {
  beginTotpEnrolment,
  confirmTotpEnrolment,
  currentTotpEnrolment,
  disableSecondFactor,
  reauthenticate,
  regenerateRecoveryCodes,
  secondFactorStatus,
} from 'cloakroom';
import { readInput } from '../http/body.js';
import type { App, ServerDeps } from '../http/context.js';
import { ApiError, accepted } from '../http/errors.js';
import { qrSvg } from '../http/qr.js';

const QR_LABEL = 'QR code of the key for your authenticator app';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Re-authentication and the user's own second factor. The rules (the re-auth window, the code
 * checks, single use, throttling, the audit) live in the account actions; each handler reads the
 * body and shapes the answer. A new proof or a change of factor rotates the session: the answer
 * carries the new CSRF token and cookie.
 */
export function secondFactorRoutes(app: App, deps: ServerDeps): void {
  const { auth, account, users } = deps;

  /** `{password, code?, recoveryCode?}`: a fresh proof for the re-auth window. */
  app.post('/api/reauth', auth.requireUser(), async (c) => {
    const input = await readInput(c);
    const { issued } = accepted(
      await reauthenticate(account, c.get('cloakroomRequest'), c.get('session')!, {
        password: input.fields.password,
        code: input.fields.code,
        recoveryCode: input.fields.recoveryCode,
      }),
    );
    auth.adopt(c, issued);
    return c.json({ csrfToken: issued.csrfToken });
  });

  app.get('/api/account/second-factor', auth.requireUser(), async (c) => {
    const record = await users.getById(c.get('user')!.id);
    // Deleted between the middleware's read and this one: as if signed out.
    if (!record) throw new ApiError('unauthenticated', 'Sign in first.');
    const { enabled, recoveryCodesLeft, enrolledAt } = secondFactorStatus(record);
    return c.json({ enabled, recoveryCodesLeft, enrolledAt: iso(enrolledAt) });
  });

  /** Starts (or restarts) enrolment: the key as text, as an otpauth:// URI and as a QR code. */
  app.post('/api/account/second-factor/totp', auth.requireUser(), async (c) => {
    const { secret, uri } = accepted(await beginTotpEnrolment(account, c.get('session')!));
    return c.json({ secret, uri, qrSvg: qrSvg(uri, QR_LABEL) });
  });

  /**
   * The enrolment in progress, again (the same key the app already holds): for a client that
   * lost the first answer or shows the QR code again after a wrong code. None: 404 `not_found`.
   */
  app.get('/api/account/second-factor/totp', auth.requireUser(), async (c) => {
    const current = await currentTotpEnrolment(account, c.get('session')!);
    if (!current.ok && current.error === 'not_enrolled') throw new ApiError('not_found', current.message);
    const { secret, uri } = accepted(current);
    return c.json({ secret, uri, qrSvg: qrSvg(uri, QR_LABEL) });
  });

  app.post('/api/account/second-factor/totp/confirm', auth.requireUser(), async (c) => {
    const input = await readInput(c);
    const { recoveryCodes, issued } = accepted(
      await confirmTotpEnrolment(account, c.get('cloakroomRequest'), c.get('session')!, {
        code: input.fields.code,
      }),
    );
    auth.adopt(c, issued);
    return c.json({ recoveryCodes, csrfToken: issued.csrfToken });
  });

  app.post('/api/account/second-factor/recovery-codes', auth.requireUser(), async (c) => {
    const { recoveryCodes } = accepted(await regenerateRecoveryCodes(account, c.get('session')!));
    return c.json({ recoveryCodes });
  });

  app.post('/api/account/second-factor/disable', auth.requireUser(), async (c) => {
    const input = await readInput(c);
    const { issued } = accepted(
      await disableSecondFactor(account, c.get('cloakroomRequest'), c.get('session')!, {
        code: input.fields.code,
        recoveryCode: input.fields.recoveryCode,
      }),
    );
    auth.adopt(c, issued);
    return c.json({ csrfToken: issued.csrfToken });
  });
}
