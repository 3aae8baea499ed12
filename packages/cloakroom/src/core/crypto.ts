/**
 * The primitives the core needs, behind one small interface.
 *
 * Why not Web Crypto directly: `crypto.subtle` is async, and an awaited HMAC costs ~36 µs
 * on Node 20 against ~3 µs for synchronous `node:crypto` (bench/core.bench.ts measures it).
 * The per-request path does one HMAC and one hash, so the default implementation
 * ({@link nodeCrypto}) is synchronous; another runtime can inject its own.
 */
export interface SessionCrypto {
  /** `length` bytes from a CSPRNG. */
  randomBytes(length: number): Uint8Array;
  /** HMAC-SHA256 of the UTF-8 bytes of `data` under `key`. */
  hmacSha256(key: Uint8Array, data: string | Uint8Array): Uint8Array;
  /** SHA-256 of the UTF-8 bytes of `data`, base64url without padding. */
  sha256Base64url(data: string): string;
  /** Constant-time equality; `false` (not an exception) when the lengths differ. */
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
  /** base64url without padding. */
  encodeBase64url(bytes: Uint8Array): string;
  /** Decodes base64url; the caller checks the alphabet and length first. */
  decodeBase64url(text: string): Uint8Array;
}

/** `^[A-Za-z0-9_-]{n}$` without building a RegExp per call. */
export function isBase64url(text: string, length: number): boolean {
  if (text.length !== length) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const ok = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95;
    if (!ok) return false;
  }
  return true;
}

/** Length in characters of n bytes encoded as unpadded base64url. */
export function base64urlLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}
