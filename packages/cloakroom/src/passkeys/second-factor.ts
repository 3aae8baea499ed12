import {
  generateAuthenticationOptions,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import {
  changedSince,
  issueAfterPending,
  pendingExpired,
  usedKey,
  usePending,
} from '../auth/accounts/complete-sign-in.js';
import type { AccountDeps, AccountFailure } from '../auth/accounts/deps.js';
import { parseDocument } from '../auth/second-factor/document.js';
import { toUser, type User } from '../auth/users.js';
import { systemClock } from '../core/clock.js';
import type { PendingSignIn } from '../core/pending.js';
import type { IncomingRequest } from '../core/request.js';
import type { Issued } from '../core/sessions.js';
import { verifyAssertion } from './assertion.js';
import { claimChallenge, issueChallenge } from './challenges.js';
import type { Passkeys } from './config.js';
import { ceremonyExpired, descriptorsOf, invalidPasskey, noPasskeys, requirePasskeys } from './records.js';
import { readAuthentication } from './response.js';

/** A two-step sign-in finished with a passkey. */
export interface PasskeySecondFactorDone {
  ok: true;
  user: User;
  /** The new session (methods `pwd`, `hwk`); `setCookie` also clears the pending cookie. */
  issued: Issued;
}

/**
 * Where a pending state is marked used: the second factor's counter store when there is one, so
 * that a code (`completeSignIn`) and a passkey finishing the same pending state count in one
 * place, and exactly one of them makes a session.
 */
const pendingCounters = (deps: AccountDeps, passkeys: Passkeys) => (deps.secondFactor ?? passkeys).counters;

/** The request's pending state if it is still unused; else `null`. */
async function livePending(deps: AccountDeps, passkeys: Passkeys, request: IncomingRequest) {
  const pending = deps.sessions.readPending(request);
  if (!pending) return null;
  // A cheap early refusal for a state already used: `usePending` is what guarantees it.
  const used = await pendingCounters(deps, passkeys).get(usedKey(pending), (deps.clock ?? systemClock).now());
  return used ? null : pending;
}

/**
 * Begins the second step of a sign-in with a passkey: the pending state `signIn` issued
 * (`pending_expired` without a live one, or when the account changed since), options for
 * `navigator.credentials.get()` offering the user's passkeys (`not_enrolled` if there are none),
 * user verification preferred (the password was the first factor), and a challenge bound to the
 * pending state.
 * @example
 * const begun = await beginPasskeySecondFactor(deps, request);
 * if (begun.ok) return Response.json({ options: begun.options });
 */
export async function beginPasskeySecondFactor(
  deps: AccountDeps,
  request: IncomingRequest,
): Promise<{ ok: true; options: PublicKeyCredentialRequestOptionsJSON } | AccountFailure> {
  const passkeys = requirePasskeys(deps);
  const pending = await livePending(deps, passkeys, request);
  if (!pending) return pendingExpired;
  const user = await deps.users.getById(pending.userId);
  if (!user || changedSince(pending)(user)) return pendingExpired;
  const list = parseDocument(user.secondFactor).passkeys;
  if (list.length === 0) return noPasskeys;
  const challenge = await issueChallenge(
    passkeys,
    'second-factor',
    pending.nonce,
    (deps.clock ?? systemClock).now(),
  );
  const options = await generateAuthenticationOptions({
    rpID: passkeys.rpId,
    allowCredentials: descriptorsOf(list),
    challenge: challenge.bytes,
    timeout: passkeys.challengeMs,
    userVerification: 'preferred',
  });
  return { ok: true, options };
}

/**
 * Finishes a two-step sign-in with a passkey, like `completeSignIn` does with a code. In this
 * order: the pending state (MAC, expiry, not used yet); the response's shape and size; the
 * challenge, used up (issued to this pending state, live, and this the one finish that takes
 * it); the assertion for the pending state's user (signature, origin, RP ID, counter, BE flag),
 * with the account as it is then (unlocked, same epoch as at the password step); the pending
 * state used up (one pending state, one session, whatever factor finishes it); then the session,
 * methods `pwd` and `hwk`, and one more look at the account. Audited as `login.second-factor`
 * with method `passkey`.
 * @example
 * const done = await finishPasskeySecondFactor(deps, request, { response: body.response });
 * if (done.ok) // send done.issued.setCookie, { user: done.user, csrfToken: done.issued.csrfToken }
 */
export async function finishPasskeySecondFactor(
  deps: AccountDeps,
  request: IncomingRequest,
  input: { response?: unknown },
): Promise<PasskeySecondFactorDone | AccountFailure> {
  const passkeys = requirePasskeys(deps);
  const pending: PendingSignIn | null = await livePending(deps, passkeys, request);
  if (!pending) return pendingExpired;
  const read = readAuthentication(input.response);
  if (!read) {
    deps.audit('passkey.failure', { userId: pending.userId, route: 'second-factor', ip: request.ip });
    return invalidPasskey;
  }
  const now = () => (deps.clock ?? systemClock).now();
  if (!(await claimChallenge(passkeys, 'second-factor', pending.nonce, read.challenge, now()))) {
    return ceremonyExpired;
  }
  const verified = await verifyAssertion(deps, passkeys, request, {
    route: 'second-factor',
    userId: pending.userId,
    response: read.response,
    challenge: read.challenge,
    userHandle: read.userHandle,
    requireUserVerification: false,
    refuseUser: changedSince(pending),
  });
  if (!verified.ok) return verified;
  if (!(await usePending(pendingCounters(deps, passkeys), pending, now))) return pendingExpired;

  const done = await issueAfterPending(deps, request, pending, ['pwd', 'hwk']);
  if (!done) return pendingExpired;
  const { issued, user: after } = done;
  deps.audit('login.second-factor', {
    userId: after.id,
    session: issued.session.id,
    method: 'passkey',
    passkey: verified.passkey.id,
    ip: request.ip,
    remember: pending.remember,
  });
  return { ok: true, user: toUser(after), issued };
}
