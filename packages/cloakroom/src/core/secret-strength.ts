/**
 * A rough lower bound on the entropy of a secret string: its length times the Shannon entropy
 * of its character distribution. It cannot prove a secret random, but it refuses the usual
 * mistakes: short strings, repeated characters, dictionary words padded to length.
 */
export function estimateEntropyBits(secret: string): number {
  const counts = new Map<string, number>();
  for (const ch of secret) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const n = [...secret].length;
  let perChar = 0;
  for (const c of counts.values()) {
    const p = c / n;
    perChar -= p * Math.log2(p);
  }
  return perChar * n;
}

/** Minimum length in bytes of a secret (32 bytes of entropy). */
export const MIN_SECRET_BYTES = 32;
/**
 * Minimum estimated entropy. 32 random bytes printed as base64url (43 characters) estimate
 * at ~200 bits and as hex (64 characters) at ~240, so 128 leaves room for honest secrets
 * while refusing `changeme-changeme-changeme-changeme` (~90).
 */
export const MIN_SECRET_ENTROPY_BITS = 128;

/** Why a secret is refused, or `null` when it is acceptable. Never includes the secret itself. */
export function secretWeakness(secret: string): string | null {
  const bytes = new TextEncoder().encode(secret).length;
  if (bytes < MIN_SECRET_BYTES) {
    return `is ${bytes} bytes long; it needs at least ${MIN_SECRET_BYTES} random bytes`;
  }
  if (estimateEntropyBits(secret) < MIN_SECRET_ENTROPY_BITS) {
    return 'looks too predictable (repeated or dictionary characters); it needs 32 random bytes';
  }
  return null;
}
