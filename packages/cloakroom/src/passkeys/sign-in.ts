import {
  generateAuthenticationOptions,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import type { AccountDeps, AccountFailure } from '../auth/accounts/deps.js';
import { invalid } from '../auth/accounts/deps.js';
import type { UserRecord } from '../auth/types.js';
import { toUser, type User } from '../auth/users.js';
import { systemClock } from '../core/clock.js';
import type { IncomingRequest } from '../core/request.js';
import type { Issued } from '../core/sessions.js';
import { verifyAssertion } from './assertion.js';
import { ceremonyChallenge, claimCeremonyChallenge } from './challenges.js';
import { ceremonyExpired, invalidPasskey, requirePasskeys } from './records.js';
import { readAuthentication, userIdOf } from './response.js';

/** A passwordless sign-in that succeeded. */
export interface PasskeySignedIn {
  ok: true;
  user: User;
  /** The new session (methods `hwk`); `setCookie` also clears the ceremony cookie. */
  issued: Issued;
}

/**
 * Begins a passwordless sign-in: options for `navigator.credentials.get()` that name no
 * credential (the browser offers the passkeys it holds for this site: discoverable credentials,
 * and conditional UI), user verification required, and a challenge bound to a new ceremony
 * cookie (send `setCookie`), so only this browser can finish it. It writes nothing to the store
 * (anyone may call it): the challenge is derived from the cookie's random id.
 * @example
 * const begun = await beginPasskeySignIn(deps, request);
 * // send begun.setCookie and { options: begun.options }
 */
export async function beginPasskeySignIn(
  deps: AccountDeps,
  request: IncomingRequest,
): Promise<{ ok: true; options: PublicKeyCredentialRequestOptionsJSON; setCookie: string[] }> {
  const passkeys = requirePasskeys(deps);
  const ceremony = deps.sessions.issueCeremony(request, passkeys.challengeMs);
  const challenge = ceremonyChallenge(ceremony.id);
  const options = await generateAuthenticationOptions({
    rpID: passkeys.rpId,
    allowCredentials: [],
    challenge: challenge.bytes,
    timeout: passkeys.challengeMs,
    userVerification: 'required',
  });
  return { ok: true, options, setCookie: ceremony.setCookie };
}

/** Locked, or the epoch moved (password change, lock, "sign out everywhere") since it was read. */
const changedSince = (epoch: number) => (user: UserRecord) =>
  user.locked || user.epoch !== epoch ? invalidPasskey : null;

/**
 * Finishes a passwordless sign-in. In this order: the ceremony cookie (`ceremony_expired`
 * without it); the response's shape and size; the challenge, used up (issued to this ceremony,
 * live, and this the one finish that takes it); the user the user handle names, and the epoch
 * read before anything is verified; the assertion, user verification required (signature,
 * origin, RP ID, counter, BE flag: see `verifyAssertion`); then a fresh session with methods
 * `hwk` (a passkey with user verification is two factors in one), and one more look at the
 * account, like `signIn`. An unknown user or passkey, a locked account and a bad signature all
 * get the same answer, `invalid_passkey` (audited as `passkey.failure`). Audited as
 * `login.passkey`.
 * @example
 * const done = await finishPasskeySignIn(deps, request, { response: body.response, remember: body.remember });
 * if (done.ok) // send done.issued.setCookie, { user: done.user, csrfToken: done.issued.csrfToken }
 */
export async function finishPasskeySignIn(
  deps: AccountDeps,
  request: IncomingRequest,
  input: { response?: unknown; remember?: unknown },
): Promise<PasskeySignedIn | AccountFailure> {
  const passkeys = requirePasskeys(deps);
  if (input.remember !== undefined && typeof input.remember !== 'boolean') {
    return invalid('remember', 'Send remember as true or false.');
  }
  const remember = input.remember === true;
  const ceremony = deps.sessions.readCeremony(request);
  if (!ceremony) return ceremonyExpired;
  const read = readAuthentication(input.response);
  const refuse = (userId: string | null): AccountFailure => {
    deps.audit('passkey.failure', { userId, route: 'signin', ip: request.ip });
    return invalidPasskey;
  };
  if (!read) return refuse(null);
  const now = (deps.clock ?? systemClock).now();
  if (!(await claimCeremonyChallenge(passkeys, ceremony, read.challenge, now))) return ceremonyExpired;
  // A discoverable credential names its user; without a handle there is nobody to look up.
  const userId = read.userHandle === null ? null : userIdOf(read.userHandle);
  if (userId === null) return refuse(null);
  // The epoch read *before* the assertion is checked: a change that lands meanwhile kills the session.
  const before = await deps.users.getById(userId);
  if (!before) return refuse(userId);
  const verified = await verifyAssertion(deps, passkeys, request, {
    route: 'signin',
    userId,
    response: read.response,
    challenge: read.challenge,
    userHandle: read.userHandle,
    requireUserVerification: true,
    refuseUser: changedSince(before.epoch),
  });
  if (!verified.ok) return verified;

  const issued = await deps.sessions.create(request, {
    userId,
    remember,
    epoch: before.epoch,
    methods: ['hwk'],
  });
  const after = await deps.users.getById(userId);
  if (!after || changedSince(before.epoch)(after)) {
    await deps.sessions.end(issued.session);
    return refuse(userId);
  }
  issued.setCookie.push(...deps.sessions.clearCeremony(request));
  deps.audit('login.passkey', {
    userId,
    session: issued.session.id,
    passkey: verified.passkey.id,
    ip: request.ip,
    remember,
  });
  return { ok: true, user: toUser(after), issued };
}
