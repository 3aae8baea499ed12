import { base64urlLength, isBase64url, type SessionCrypto } from './crypto.js';
import type { Keyring } from './keyring.js';
import type { VerifiedSignatures } from './verified-signatures.js';

/** 32 bytes from the CSPRNG (256 bits; ASVS 7.2.3 asks for at least 128). */
export const TOKEN_BYTES = 32;
const TOKEN_LENGTH = base64urlLength(TOKEN_BYTES); // 43
const SIGNATURE_LENGTH = base64urlLength(32); // 43

/** A fresh token: the secret half of the cloakroom ticket. */
export function newToken(crypto: SessionCrypto): string {
  return crypto.encodeBase64url(crypto.randomBytes(TOKEN_BYTES));
}

/** The cookie value `token.signature`. */
export function signToken(token: string, keyring: Keyring, crypto: SessionCrypto): string {
  return `${token}.${crypto.encodeBase64url(keyring.sign('session', token))}`;
}

/**
 * Outcome of reading a cookie value: the token, its store key (SHA-256) and the index of the key
 * that signed it.
 */
export type ParsedCookie =
  | { token: string; storeKey: string; keyIndex: number }
  | { error: 'malformed' | 'bad-signature' };

/**
 * Checks shape, then signature (constant-time, every key of the ring; or a pair remembered in
 * `verified` from an earlier full check). Only a value that passes both ever reaches the store.
 */
export function parseCookieValue(
  value: string,
  keyring: Keyring,
  crypto: SessionCrypto,
  verified?: VerifiedSignatures,
): ParsedCookie {
  if (value.length !== TOKEN_LENGTH + 1 + SIGNATURE_LENGTH || value.charCodeAt(TOKEN_LENGTH) !== 46) {
    return { error: 'malformed' };
  }
  const token = value.slice(0, TOKEN_LENGTH);
  const signature = value.slice(TOKEN_LENGTH + 1);
  if (!isBase64url(token, TOKEN_LENGTH) || !isBase64url(signature, SIGNATURE_LENGTH))
    return { error: 'malformed' };
  // 32 bytes in 43 characters leave 2 spare bits in the last one: accept only the canonical
  // spelling (spare bits zero), so no two cookie values authenticate as the same session.
  if (!canonicalLast(signature.charCodeAt(SIGNATURE_LENGTH - 1))) return { error: 'malformed' };
  const storeKey = storeKeyOf(token, crypto);
  const remembered = verified?.lookup(storeKey, signature);
  if (remembered !== undefined) return { token, storeKey, keyIndex: remembered };
  const keyIndex = keyring.verify('session', token, crypto.decodeBase64url(signature));
  if (keyIndex === -1) return { error: 'bad-signature' };
  verified?.remember(storeKey, signature, keyIndex);
  return { token, storeKey, keyIndex };
}

/** Whether a base64url character has its two low bits zero (A, E, I, …, w, 0, 4, 8). */
function canonicalLast(code: number): boolean {
  const value =
    code >= 65 && code <= 90
      ? code - 65
      : code >= 97 && code <= 122
        ? code - 71
        : code >= 48 && code <= 57
          ? code + 4
          : code === 45
            ? 62
            : 63;
  return (value & 3) === 0;
}

/** Store key: SHA-256 of the token, so the store never holds a usable credential. */
export function storeKeyOf(token: string, crypto: SessionCrypto): string {
  return crypto.sha256Base64url(token);
}

/** Length of a public session id. */
export const PUBLIC_ID_LENGTH = 22;

/**
 * Public id: the first 22 characters (132 bits) of the store key. It names a session in APIs,
 * UIs and logs; since the store key is a one-way hash of the token, it cannot become a cookie.
 */
export function publicIdOf(storeKey: string): string {
  return storeKey.slice(0, PUBLIC_ID_LENGTH);
}

/** Whether `text` has the shape of a public session id (22 base64url characters). */
export function isPublicId(text: unknown): text is string {
  return typeof text === 'string' && isBase64url(text, PUBLIC_ID_LENGTH);
}
