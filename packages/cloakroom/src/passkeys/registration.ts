import {
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import {
  type AccountDeps,
  type AccountFailure,
  invalid,
  noSuchUser,
  reauthRequired,
} from '../auth/accounts/deps.js';
import { changeDocument } from '../auth/second-factor/change.js';
import { hasFactor, type PasskeyRecord, parseDocument } from '../auth/second-factor/document.js';
import { newRecoveryCodes } from '../auth/second-factor/recovery-codes.js';
import { systemClock } from '../core/clock.js';
import type { IncomingRequest } from '../core/request.js';
import type { Session } from '../core/session.js';
import { claimChallenge, issueChallenge } from './challenges.js';
import type { Passkeys } from './config.js';
import {
  ceremonyExpired,
  checkPasskeyName,
  descriptorsOf,
  invalidPasskey,
  MAX_PASSKEYS,
  type PasskeyInfo,
  requirePasskeys,
  toInfo,
} from './records.js';
import { readRegistration } from './response.js';

const tooMany = invalid('passkeys', `An account holds at most ${MAX_PASSKEYS} passkeys; remove one first.`);

/** What a new passkey's registration answers. */
export interface PasskeyRegistered {
  ok: true;
  passkey: PasskeyInfo;
  /** Ten new recovery codes, shown once: made with the account's first factor; else `null`. */
  recoveryCodes: string[] | null;
}

/**
 * Begins adding a passkey for the signed-in user: the options for
 * `navigator.credentials.create()` (a discoverable credential, user verification required,
 * attestation `none`, the user's passkeys excluded so one authenticator is not registered
 * twice) with a new challenge bound to this session. Needs a recent proof (`reauth_required`);
 * at most {@link MAX_PASSKEYS} per user (`invalid`, field `passkeys`).
 * @example
 * const begun = await beginPasskeyRegistration(deps, request, session);
 * if (begun.ok) return Response.json({ options: begun.options });
 */
export async function beginPasskeyRegistration(
  deps: AccountDeps,
  _request: IncomingRequest,
  session: Session,
): Promise<{ ok: true; options: PublicKeyCredentialCreationOptionsJSON } | AccountFailure> {
  const passkeys = requirePasskeys(deps);
  if (!deps.sessions.isRecent(session)) return reauthRequired;
  const user = await deps.users.getById(session.userId);
  if (!user) return noSuchUser;
  const doc = parseDocument(user.secondFactor);
  if (doc.passkeys.length >= MAX_PASSKEYS) return tooMany;
  const challenge = await issueChallenge(passkeys, 'register', session.id, (deps.clock ?? systemClock).now());
  const options = await generateRegistrationOptions({
    rpName: passkeys.rpName,
    rpID: passkeys.rpId,
    // The user handle is the user id, never the username: it is stored on the authenticator and
    // sent back on every sign-in, and a username can change.
    userID: new Uint8Array(Buffer.from(user.id, 'utf8')),
    userName: user.username,
    userDisplayName: user.displayName,
    challenge: challenge.bytes,
    timeout: passkeys.challengeMs,
    attestationType: 'none',
    excludeCredentials: descriptorsOf(doc.passkeys),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  return { ok: true, options };
}

/** The registration's verified credential, or `null` for any refusal (errors are not told apart). */
async function verified(passkeys: Passkeys, response: RegistrationResponseJSON, challenge: string) {
  try {
    const result = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: [...passkeys.origins],
      expectedRPID: passkeys.rpId,
      expectedType: 'webauthn.create',
      requireUserPresence: true,
      requireUserVerification: true,
    });
    return result.verified ? result.registrationInfo : null;
  } catch {
    return null;
  }
}

/**
 * Finishes adding a passkey: the browser's response to {@link beginPasskeyRegistration}'s options
 * and an optional name (default `Passkey <n>`). In this order: a recent proof; the response's
 * shape and size; the name; the challenge, used up (issued for this session, live, and this the
 * one finish that takes it); the attestation (origin, RP ID, user presence and verification,
 * algorithm); then, in one compare-and-set, the limit, a credential already registered, and the
 * new passkey written. The first factor of an account with none gets ten recovery codes in the
 * same write (returned once). Audited as `passkey.registered`.
 * @example
 * const done = await finishPasskeyRegistration(deps, request, session, { response: body.response, name: body.name });
 * if (done.ok) showRecoveryCodes(done.recoveryCodes);
 */
export async function finishPasskeyRegistration(
  deps: AccountDeps,
  request: IncomingRequest,
  session: Session,
  input: { response?: unknown; name?: unknown },
): Promise<PasskeyRegistered | AccountFailure> {
  const passkeys = requirePasskeys(deps);
  if (!deps.sessions.isRecent(session)) return reauthRequired;
  const userId = session.userId;
  const refuse = (): AccountFailure => {
    deps.audit('passkey.failure', { userId, route: 'register', ip: request.ip });
    return invalidPasskey;
  };
  const read = readRegistration(input.response);
  if (!read) return refuse();
  const given = input.name === undefined || input.name === null || input.name === '' ? null : input.name;
  const name = given === null ? null : checkPasskeyName(given);
  if (name !== null && typeof name !== 'string') return name;
  const now = (deps.clock ?? systemClock).now();
  if (!(await claimChallenge(passkeys, 'register', session.id, read.challenge, now))) return ceremonyExpired;
  const info = await verified(passkeys, read.response, read.challenge);
  // The credential id the authenticator data carries is the one the browser reported.
  if (!info || info.credential.id !== read.response.id) return refuse();

  const codes = newRecoveryCodes();
  const result = await changeDocument(deps, userId, (_user, doc) => {
    if (doc.passkeys.length >= MAX_PASSKEYS) return { refuse: tooMany };
    if (doc.passkeys.some((p) => p.id === info.credential.id)) return { refuse: invalidPasskey };
    const first = !hasFactor(doc) && doc.recoveryCodes.length === 0;
    const record: PasskeyRecord = {
      id: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: read.transports,
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      name: name ?? `Passkey ${doc.passkeys.length + 1}`,
      createdAt: now,
      lastUsedAt: null,
    };
    return {
      next: {
        ...doc,
        passkeys: [...doc.passkeys, record],
        recoveryCodes: first ? codes.hashes : doc.recoveryCodes,
      },
      value: { record, recoveryCodes: first ? codes.codes : null },
    };
  });
  if (!result.ok) return result.error === 'invalid_passkey' ? refuse() : result;
  const { record, recoveryCodes } = result.value;
  deps.audit('passkey.registered', {
    userId,
    passkey: record.id,
    deviceType: record.deviceType,
    recoveryCodes: recoveryCodes !== null,
  });
  return { ok: true, passkey: toInfo(record), recoveryCodes };
}
