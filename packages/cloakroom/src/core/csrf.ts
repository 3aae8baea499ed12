import { isBase64url, type SessionCrypto } from './crypto.js';

const SECRET_BYTES = 32;
/** Length of a masked token: base64url of mask (32 bytes) + masked secret (32 bytes). */
export const CSRF_TOKEN_LENGTH = 86;

/** A fresh per-session CSRF secret (base64url). */
export function newCsrfSecret(crypto: SessionCrypto): string {
  return crypto.encodeBase64url(crypto.randomBytes(SECRET_BYTES));
}

/**
 * A per-response token: a random one-time pad and the secret XOR that pad. Every response
 * carries different bytes, so compression side channels (BREACH) learn nothing, yet every
 * token unmasks to the same per-session secret.
 */
export function maskCsrfToken(secret: string, crypto: SessionCrypto): string {
  const raw = crypto.decodeBase64url(secret);
  const mask = crypto.randomBytes(SECRET_BYTES);
  const out = new Uint8Array(SECRET_BYTES * 2);
  out.set(mask, 0);
  for (let i = 0; i < SECRET_BYTES; i++) out[SECRET_BYTES + i] = (raw[i] ?? 0) ^ (mask[i] ?? 0);
  return crypto.encodeBase64url(out);
}

/**
 * Whether `token` unmasks to `secret`. Any malformed input (wrong length, other alphabet,
 * empty) is simply `false`; the comparison is constant-time.
 */
export function verifyCsrfToken(secret: string, token: string, crypto: SessionCrypto): boolean {
  if (!isBase64url(token, CSRF_TOKEN_LENGTH)) return false;
  const bytes = crypto.decodeBase64url(token);
  if (bytes.length !== SECRET_BYTES * 2) return false;
  const unmasked = new Uint8Array(SECRET_BYTES);
  for (let i = 0; i < SECRET_BYTES; i++) unmasked[i] = (bytes[i] ?? 0) ^ (bytes[SECRET_BYTES + i] ?? 0);
  return crypto.timingSafeEqual(unmasked, crypto.decodeBase64url(secret));
}
