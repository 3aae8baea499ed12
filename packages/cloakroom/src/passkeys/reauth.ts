import {
  generateAuthenticationOptions,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { type AccountDeps, type AccountFailure, noSuchUser } from '../auth/accounts/deps.js';
import { parseDocument } from '../auth/second-factor/document.js';
import type { UserRecord } from '../auth/types.js';
import { systemClock } from '../core/clock.js';
import type { IncomingRequest } from '../core/request.js';
import type { Session } from '../core/session.js';
import type { Issued } from '../core/sessions.js';
import { verifyAssertion } from './assertion.js';
import { claimChallenge, issueChallenge } from './challenges.js';
import { ceremonyExpired, descriptorsOf, invalidPasskey, noPasskeys, requirePasskeys } from './records.js';
import { readAuthentication } from './response.js';

/**
 * Begins "confirm it is you" with a passkey: options for `navigator.credentials.get()` offering
 * the user's passkeys (`not_enrolled` if there are none), user verification required, and a
 * challenge bound to this session.
 * @example
 * const begun = await beginPasskeyReauth(deps, request, session);
 * if (begun.ok) return Response.json({ options: begun.options });
 */
export async function beginPasskeyReauth(
  deps: AccountDeps,
  _request: IncomingRequest,
  session: Session,
): Promise<{ ok: true; options: PublicKeyCredentialRequestOptionsJSON } | AccountFailure> {
  const passkeys = requirePasskeys(deps);
  const user = await deps.users.getById(session.userId);
  if (!user) return noSuchUser;
  const list = parseDocument(user.secondFactor).passkeys;
  if (list.length === 0) return noPasskeys;
  const challenge = await issueChallenge(passkeys, 'reauth', session.id, (deps.clock ?? systemClock).now());
  const options = await generateAuthenticationOptions({
    rpID: passkeys.rpId,
    allowCredentials: descriptorsOf(list),
    challenge: challenge.bytes,
    timeout: passkeys.challengeMs,
    userVerification: 'required',
  });
  return { ok: true, options };
}

/** A locked account proves nothing (its sessions are ending anyway). */
const lockedOut = (user: UserRecord) => (user.locked ? invalidPasskey : null);

/**
 * Finishes "confirm it is you" with a passkey, the way `reauthenticate` does with a password. In
 * this order: the response's shape and size; the challenge, used up (issued to this session,
 * live, and this the one finish that takes it); the assertion for the session's user, user
 * verification required (signature, origin, RP ID, counter, BE flag); then the session gets a new
 * ticket whose `authenticatedAt` is now, methods `hwk` (`sessions.reauthenticate`: a new CSRF
 * secret, the old ticket ends). Audited as `reauthenticated`.
 * @example
 * const done = await finishPasskeyReauth(deps, request, session, { response: body.response });
 * if (done.ok) // send done.issued.setCookie, { csrfToken: done.issued.csrfToken }
 */
export async function finishPasskeyReauth(
  deps: AccountDeps,
  request: IncomingRequest,
  session: Session,
  input: { response?: unknown },
): Promise<{ ok: true; issued: Issued } | AccountFailure> {
  const passkeys = requirePasskeys(deps);
  const read = readAuthentication(input.response);
  if (!read) {
    deps.audit('passkey.failure', { userId: session.userId, route: 'reauth', ip: request.ip });
    return invalidPasskey;
  }
  const now = (deps.clock ?? systemClock).now();
  if (!(await claimChallenge(passkeys, 'reauth', session.id, read.challenge, now))) return ceremonyExpired;
  const verified = await verifyAssertion(deps, passkeys, request, {
    route: 'reauth',
    userId: session.userId,
    response: read.response,
    challenge: read.challenge,
    userHandle: read.userHandle,
    requireUserVerification: true,
    refuseUser: lockedOut,
  });
  if (!verified.ok) return verified;
  const methods = ['hwk'];
  const issued = await deps.sessions.reauthenticate(request, session, { methods });
  deps.audit('reauthenticated', {
    userId: session.userId,
    session: issued.session.id,
    methods,
    passkey: verified.passkey.id,
  });
  return { ok: true, issued };
}
