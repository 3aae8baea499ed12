import { systemClock } from '../../core/clock.js';
import type { IncomingRequest } from '../../core/request.js';
import type { Session } from '../../core/session.js';
import type { Issued } from '../../core/sessions.js';
import { changeDocument } from '../second-factor/change.js';
import { parseDocument, type SecondFactorDocument, type TotpEnrolment } from '../second-factor/document.js';
import { invalidCode, notEnrolled, openKey, readProof, requireSecondFactor } from '../second-factor/proof.js';
import { newRecoveryCodes } from '../second-factor/recovery-codes.js';
import { matchTotp, newTotpKey, totpKeyText, totpUri } from '../second-factor/totp.js';
import { type AccountDeps, type AccountFailure, noSuchUser, reauthRequired } from './deps.js';

/** How long a begun enrolment waits for its first code; then it must begin again (a new key). */
const ENROLMENT_MS = 30 * 60_000;

/** The enrolment in progress: begun and not older than {@link ENROLMENT_MS}; else `null`. */
function enrolmentInProgress(doc: SecondFactorDocument, now: number): TotpEnrolment | null {
  return doc.enrolment && now - doc.enrolment.startedAt <= ENROLMENT_MS ? doc.enrolment : null;
}

const noEnrolment: AccountFailure = {
  ok: false,
  error: 'not_enrolled',
  message: 'No set-up of two-step sign-in is in progress, or it took longer than 30 minutes; start again.',
};

const alreadyEnrolled: AccountFailure = {
  ok: false,
  error: 'already_enrolled',
  message: 'Two-step sign-in is already on; turn it off first to set up a new authenticator.',
};

/**
 * Begins a TOTP enrolment: a new random key, stored sealed as the enrolment in progress (calling
 * it again replaces it), returned as base32 text and as an `otpauth://` URI for a QR code. The
 * factor is not on until {@link confirmTotpEnrolment}. Needs a recent proof (`reauth_required`).
 */
export async function beginTotpEnrolment(
  deps: AccountDeps,
  session: Session,
): Promise<{ ok: true; secret: string; uri: string } | AccountFailure> {
  const factor = requireSecondFactor(deps);
  if (!deps.sessions.isRecent(session)) return reauthRequired;
  const key = newTotpKey();
  const sealed = factor.box.seal(key, session.userId);
  const result = await changeDocument(deps, session.userId, (_user, doc) =>
    doc.totp
      ? { refuse: alreadyEnrolled }
      : {
          next: { ...doc, enrolment: { secret: sealed, startedAt: (deps.clock ?? systemClock).now() } },
          value: null,
        },
  );
  if (!result.ok) return result;
  return { ok: true, secret: totpKeyText(key), uri: totpUri(key, factor.issuer, result.user.username) };
}

/**
 * The enrolment in progress, again: its key as the same base32 text and `otpauth://` URI that
 * {@link beginTotpEnrolment} returned, so a page can show the QR code once more after a wrong
 * first code, or on a later visit, and the key the authenticator app already holds stays the
 * one to confirm (a new key would make the person delete the app's entry and scan again).
 * `not_enrolled` when none was begun or it is older than 30 minutes; `already_enrolled` once on.
 * The key is a secret: like beginning, it needs a recent proof (`reauth_required`).
 *
 * @example
 * const current = await currentTotpEnrolment(deps, session);
 * if (current.ok) showQr(current.uri, current.secret);
 */
export async function currentTotpEnrolment(
  deps: AccountDeps,
  session: Session,
): Promise<{ ok: true; secret: string; uri: string } | AccountFailure> {
  const factor = requireSecondFactor(deps);
  if (!deps.sessions.isRecent(session)) return reauthRequired;
  const user = await deps.users.getById(session.userId);
  if (!user) return noSuchUser;
  const doc = parseDocument(user.secondFactor);
  if (doc.totp) return alreadyEnrolled;
  const enrolment = enrolmentInProgress(doc, (deps.clock ?? systemClock).now());
  if (!enrolment) return noEnrolment;
  const key = openKey(factor, enrolment.secret, user.id);
  return { ok: true, secret: totpKeyText(key), uri: totpUri(key, factor.issuer, user.username) };
}

/**
 * Confirms an enrolment with a code from the new authenticator: the key becomes the account's
 * TOTP factor (the code's step is used up), ten new recovery codes are made (returned once,
 * stored hashed), and the session gets a new ticket that counts `otp` among its methods. Needs a
 * recent proof. Audited as `second-factor.enabled`.
 */
export async function confirmTotpEnrolment(
  deps: AccountDeps,
  request: IncomingRequest,
  session: Session,
  input: { code?: unknown },
): Promise<{ ok: true; recoveryCodes: string[]; issued: Issued } | AccountFailure> {
  const factor = requireSecondFactor(deps);
  if (!deps.sessions.isRecent(session)) return reauthRequired;
  const proof = readProof({ code: input.code });
  if (proof === null) return invalidCode;
  if ('ok' in proof) return proof;
  const codes = newRecoveryCodes();
  const result = await changeDocument(deps, session.userId, (user, doc) => {
    const now = (deps.clock ?? systemClock).now();
    if (doc.totp) return { refuse: alreadyEnrolled };
    const enrolment = enrolmentInProgress(doc, now);
    if (!enrolment) return { refuse: notEnrolled };
    const step =
      proof.code === null ? null : matchTotp(openKey(factor, enrolment.secret, user.id), proof.code, now);
    if (step === null) return { refuse: invalidCode };
    return {
      next: {
        ...doc,
        totp: { secret: enrolment.secret, enrolledAt: now, lastStep: step },
        enrolment: null,
        recoveryCodes: codes.hashes,
      },
      value: null,
    };
  });
  if (!result.ok) return result;
  const methods = session.methods.includes('otp') ? session.methods : [...session.methods, 'otp'];
  const issued = await deps.sessions.reauthenticate(request, session, { methods });
  deps.audit('second-factor.enabled', { userId: session.userId, method: 'totp' });
  return { ok: true, recoveryCodes: codes.codes, issued };
}
