/** Longest username accepted, checked on the raw input before normalising (Django CVE-2023-46695). */
export const MAX_USERNAME_BYTES = 256;
/** Longest canonical username. */
export const MAX_USERNAME_LENGTH = 64;

/**
 * The canonical form of a username: Unicode NFKC, then lower-case, trimmed. Applied alike at
 * creation, sign-in, lookup and throttling, so `ALICE` and the full-width `ａｌｉｃｅ` are one
 * account and one throttle bucket. Returns `null` for input that can never be a username
 * (not a string, too long, empty, control characters).
 */
export function normalizeUsername(input: unknown): string | null {
  if (typeof input !== 'string' || input.length > MAX_USERNAME_BYTES) return null;
  if (Buffer.byteLength(input) > MAX_USERNAME_BYTES) return null;
  const folded = input.normalize('NFKC').toLowerCase();
  // Checked before trimming, so `alice\n` is refused rather than quietly becoming `alice`.
  // Format characters (zero-width space and joiners, bidi overrides, soft hyphen, BOM) survive
  // NFKC and are invisible: `al\u200Bice` would be a second account that displays as `alice`.
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(folded)) return null;
  const canonical = folded.trim();
  if (canonical === '' || [...canonical].length > MAX_USERNAME_LENGTH) return null;
  return canonical;
}

const ROLE = /^[a-z][a-z0-9_.:-]{0,63}$/;

/** Whether a role name is acceptable: lower-case letters, digits and `_.:-`, up to 64 characters. */
export function isValidRole(role: unknown): role is string {
  return typeof role === 'string' && ROLE.test(role);
}

/**
 * The confusable skeleton of a canonical username (Unicode TS #39): two names with the same
 * skeleton look alike, so a new user whose skeleton is taken is refused.
 */
export function usernameSkeleton(canonical: string): string {
  // Placeholder until the confusables data lands: the canonical form itself.
  return canonical;
}
