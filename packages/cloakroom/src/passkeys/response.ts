import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';

/*
 * A browser's `credential.toJSON()` as a client sent it: untrusted input, checked for shape and
 * bounded in size here, before anything is decoded or verified. What goes on to verification is
 * a fresh object holding only the fields read below, never the client's object itself.
 */

/** A credential ID is at most 1023 bytes (WebAuthn 5.8.4): 1364 base64url characters. */
const MAX_ID = 1364;
/** `clientDataJSON` is a few hundred bytes from any browser; 3 KiB leaves room for `topOrigin`. */
const MAX_CLIENT_DATA = 4096;
/** Authenticator data with extensions; no known authenticator comes near. */
const MAX_AUTHENTICATOR_DATA = 4096;
/** An ML-DSA-44 signature is 2420 bytes, the largest of the algorithms offered. */
const MAX_SIGNATURE = 4096;
/** Attestation `none`: authenticator data with the public key (ML-DSA-44's is 1312 bytes). */
const MAX_ATTESTATION_OBJECT = 8192;
/** A user handle is at most 64 bytes (WebAuthn 5.4.3). */
const MAX_USER_HANDLE = 86;

/** The transports WebAuthn names (5.8.4): anything else is dropped, not stored. */
const TRANSPORTS = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const b64 = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= max && BASE64URL.test(v);

/** What `clientDataJSON` says, read only for its challenge (the WebAuthn library checks the rest). */
function challengeOf(clientDataJSON: string): string | null {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  return isObject(data) && typeof data.challenge === 'string' ? data.challenge : null;
}

/** The id, the common part of both ceremonies' responses, and the `response` member. */
function credentialOf(input: unknown): { id: string; response: Record<string, unknown> } | null {
  if (!isObject(input) || !isObject(input.response)) return null;
  const { id, rawId, type } = input;
  if (!b64(id, MAX_ID) || rawId !== id || type !== 'public-key') return null;
  return { id, response: input.response };
}

/** A registration response, bounded and rebuilt, with the challenge it answers; `null` if malformed. */
export function readRegistration(
  input: unknown,
): { response: RegistrationResponseJSON; challenge: string; transports: string[] } | null {
  const credential = credentialOf(input);
  if (!credential) return null;
  const { clientDataJSON, attestationObject, transports } = credential.response;
  if (!b64(clientDataJSON, MAX_CLIENT_DATA) || !b64(attestationObject, MAX_ATTESTATION_OBJECT)) return null;
  if (transports !== undefined && (!Array.isArray(transports) || transports.length > 16)) return null;
  const known = [
    ...new Set((transports ?? []).filter((t): t is string => typeof t === 'string' && TRANSPORTS.has(t))),
  ];
  const challenge = challengeOf(clientDataJSON);
  if (challenge === null) return null;
  return {
    response: {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON,
        attestationObject,
        transports: known,
      },
      clientExtensionResults: {},
    },
    challenge,
    transports: known,
  };
}

/**
 * An authentication response, bounded and rebuilt, with the challenge it answers and the user
 * handle it names (`null` when it names none); `null` if malformed.
 */
export function readAuthentication(
  input: unknown,
): { response: AuthenticationResponseJSON; challenge: string; userHandle: string | null } | null {
  const credential = credentialOf(input);
  if (!credential) return null;
  const { clientDataJSON, authenticatorData, signature, userHandle } = credential.response;
  if (
    !b64(clientDataJSON, MAX_CLIENT_DATA) ||
    !b64(authenticatorData, MAX_AUTHENTICATOR_DATA) ||
    !b64(signature, MAX_SIGNATURE)
  )
    return null;
  const handle = userHandle === undefined || userHandle === null || userHandle === '' ? null : userHandle;
  if (handle !== null && !b64(handle, MAX_USER_HANDLE)) return null;
  const challenge = challengeOf(clientDataJSON);
  if (challenge === null) return null;
  return {
    response: {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: { clientDataJSON, authenticatorData, signature, ...(handle ? { userHandle: handle } : {}) },
      clientExtensionResults: {},
    },
    challenge,
    userHandle: handle,
  };
}

/** The user id a user handle carries (its UTF-8 bytes), or `null` if it is not text this server wrote. */
export function userIdOf(userHandle: string): string | null {
  const text = Buffer.from(userHandle, 'base64url').toString('utf8');
  return text !== '' && Buffer.from(text, 'utf8').toString('base64url') === userHandle ? text : null;
}
