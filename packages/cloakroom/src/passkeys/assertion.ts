import { type AuthenticationResponseJSON, verifyAuthenticationResponse } from '@simplewebauthn/server';
import type { AccountDeps, AccountFailure } from '../auth/accounts/deps.js';
import { changeDocument } from '../auth/second-factor/change.js';
import { type PasskeyRecord, parseDocument } from '../auth/second-factor/document.js';
import type { UserRecord } from '../auth/types.js';
import { systemClock } from '../core/clock.js';
import type { IncomingRequest } from '../core/request.js';
import type { Passkeys } from './config.js';
import { invalidPasskey } from './records.js';
import { userIdOf } from './response.js';

/** Which ceremony an assertion finishes (the `route` of a `passkey.failure` event). */
export type AssertionRoute = 'signin' | 'second-factor' | 'reauth';

/** An assertion to check for one user: the response as read, and the challenge already claimed. */
export interface Assertion {
  route: AssertionRoute;
  userId: string;
  response: AuthenticationResponseJSON;
  challenge: string;
  /** The user handle the response named, if any: it must be the user's. */
  userHandle: string | null;
  /** UV required (a passkey alone, or a re-authentication) or only preferred (a second factor). */
  requireUserVerification: boolean;
  /** A refusal decided on the user as stored when the use is written (locked, epoch moved). */
  refuseUser?: (user: UserRecord) => AccountFailure | null;
}

/**
 * The signature, origin, RP ID, type and flags, by `@simplewebauthn/server`; `null` for any
 * refusal. Its errors are never told apart (their text is no interface): every one is "does not
 * verify". The stored counter is passed as 0 so that the library never refuses on the counter:
 * that check is made by {@link verifyAssertion} only after the signature held, so a forged
 * response can never raise a cloned-authenticator alarm.
 */
async function verified(passkeys: Passkeys, assertion: Assertion, record: PasskeyRecord) {
  try {
    const result = await verifyAuthenticationResponse({
      response: assertion.response,
      expectedChallenge: assertion.challenge,
      expectedOrigin: [...passkeys.origins],
      expectedRPID: passkeys.rpId,
      expectedType: 'webauthn.get',
      credential: {
        id: record.id,
        publicKey: new Uint8Array(Buffer.from(record.publicKey, 'base64url')),
        counter: 0,
        transports: record.transports,
      },
      requireUserVerification: assertion.requireUserVerification,
    });
    return result.verified ? result.authenticationInfo : null;
  } catch {
    return null;
  }
}

/** What is wrong with a verified use of a stored passkey, if anything. */
type Anomaly = 'clone' | 'backup-eligibility' | null;

function anomalyOf(
  stored: PasskeyRecord,
  info: { newCounter: number; credentialDeviceType: string },
): Anomaly {
  // WebAuthn 6.1.1: a counter that does not grow, where either value is not 0, signals a clone.
  if ((info.newCounter !== 0 || stored.counter !== 0) && info.newCounter <= stored.counter) return 'clone';
  // The BE flag is fixed when the credential is made (6.1.3): a change means another credential.
  if (info.credentialDeviceType !== stored.deviceType) return 'backup-eligibility';
  return null;
}

/**
 * Checks a passkey assertion for a user and records its use. In this order: the user and the
 * passkey the response names (one of the user's); the user handle, if sent, is the user's; the
 * signature and everything `clientDataJSON` and the authenticator data must say; then, in one
 * compare-and-set on the document as it is then, the caller's refusal (locked, epoch moved), the
 * counter and the BE flag, and the new counter, BS flag and last use written. A counter that did
 * not grow is audited as `passkey.clone-suspected`. Every `invalid_passkey` (the caller's own
 * refusal too, when it answers that) is audited as `passkey.failure` with the route.
 */
export async function verifyAssertion(
  deps: AccountDeps,
  passkeys: Passkeys,
  request: IncomingRequest,
  assertion: Assertion,
): Promise<{ ok: true; user: UserRecord; passkey: PasskeyRecord } | AccountFailure> {
  const { userId, route } = assertion;
  const refuse = (): AccountFailure => {
    deps.audit('passkey.failure', { userId, route, ip: request.ip });
    return invalidPasskey;
  };
  const user = await deps.users.getById(userId);
  if (!user) return refuse();
  const id = assertion.response.id;
  const record = parseDocument(user.secondFactor).passkeys.find((p) => p.id === id);
  if (!record) return refuse();
  if (assertion.userHandle !== null && userIdOf(assertion.userHandle) !== userId) return refuse();
  const info = await verified(passkeys, assertion, record);
  if (!info) return refuse();

  // What the last run of the decision found (it runs again when another write wins the race).
  const seen: { anomaly: Anomaly; stale: boolean } = { anomaly: null, stale: false };
  const now = (deps.clock ?? systemClock).now();
  const result = await changeDocument(deps, userId, (current, doc) => {
    seen.anomaly = null;
    seen.stale = false;
    const refusal = assertion.refuseUser?.(current);
    if (refusal) return { refuse: refusal };
    const stored = doc.passkeys.find((p) => p.id === id);
    // Removed meanwhile, or replaced by another key under the same id: not the one that verified.
    if (!stored || stored.publicKey !== record.publicKey) {
      seen.stale = true;
      return { refuse: invalidPasskey };
    }
    seen.anomaly = anomalyOf(stored, info);
    if (seen.anomaly) return { refuse: invalidPasskey };
    const used: PasskeyRecord = {
      ...stored,
      counter: info.newCounter,
      backedUp: info.credentialBackedUp,
      lastUsedAt: now,
    };
    return { next: { ...doc, passkeys: doc.passkeys.map((p) => (p.id === id ? used : p)) }, value: used };
  });
  if (result.ok) return { ok: true, user: result.user, passkey: result.value };
  if (seen.anomaly === 'clone') {
    deps.audit('passkey.clone-suspected', { userId, passkey: id, ip: request.ip });
  }
  if (seen.anomaly || seen.stale || result.error === 'not_found' || result.error === 'invalid_passkey') {
    return refuse();
  }
  return result;
}
