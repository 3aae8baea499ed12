import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Crockford's base32 alphabet: no I, L, O or U, so nothing in it looks like anything else in it;
 * input is mapped back (o → 0, i and l → 1) as Crockford specifies.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** 16 characters of 5 bits: 80 bits, beyond guessing however many attempts get through. */
const LENGTH = 16;
/** How many codes a set holds. */
export const RECOVERY_CODE_COUNT = 10;

/** A new code, `xxxx-xxxx-xxxx-xxxx`. */
function newCode(): string {
  // 256 is a multiple of 32: `byte & 31` is uniform, no modulo bias.
  const chars = [...randomBytes(LENGTH)].map((b) => ALPHABET[b & 31]!);
  return [0, 4, 8, 12].map((i) => chars.slice(i, i + 4).join('')).join('-');
}

/** The canonical form of a typed code (case, spaces and dashes ignored), or `null` if it cannot be one. */
export function normalizeRecoveryCode(input: string): string | null {
  const text = input.toLowerCase().replace(/[\s-]/g, '').replace(/o/g, '0').replace(/[il]/g, '1');
  if (text.length !== LENGTH) return null;
  for (const char of text) if (!ALPHABET.includes(char)) return null;
  return text;
}

/**
 * What is stored of a code: SHA-256 of its canonical form. 80 random bits need no slow hash:
 * nobody can search that space, whatever the hash costs (unlike a password).
 */
export function hashRecoveryCode(canonical: string): string {
  return createHash('sha256').update(canonical).digest('base64url');
}

/** A fresh set: the codes to show once, and the hashes to store. */
export function newRecoveryCodes(): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  return { codes, hashes: codes.map((c) => hashRecoveryCode(normalizeRecoveryCode(c)!)) };
}

/** The index of `hash` in `hashes` (every entry compared in constant time), or -1. */
export function findHash(hashes: readonly string[], hash: string): number {
  const wanted = Buffer.from(hash);
  let found = -1;
  hashes.forEach((h, i) => {
    const candidate = Buffer.from(h);
    if (candidate.length === wanted.length && timingSafeEqual(candidate, wanted) && found === -1) found = i;
  });
  return found;
}
