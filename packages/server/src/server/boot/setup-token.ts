import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from 'cloakroom';

/** How long the first-run set-up link stays valid. */
export const SETUP_TTL_MS = 60 * 60 * 1000;

/**
 * The first-run set-up link: a random token, valid one hour, single use, kept only as a
 * SHA-256 in memory. Once claimed (or once any user exists) it is dead.
 */
export interface SetupToken {
  /** The token to print in the link (once). */
  readonly token: string;
  /** Whether `candidate` is the live token (constant-time). */
  check(candidate: unknown): boolean;
  /**
   * Takes the token if `candidate` is the live one: from then on it is dead for everyone else,
   * so of N parallel posts exactly one gets it (the check and the take are one synchronous
   * step). Returns a function that revives it (when the work it guarded failed), or `null`.
   */
  claim(candidate: unknown): (() => void) | null;
}

export function createSetupToken(clock: Clock): SetupToken {
  const token = randomBytes(32).toString('base64url');
  const digest = createHash('sha256').update(token).digest();
  const expiresAt = clock.now() + SETUP_TTL_MS;
  let used = false;
  return {
    token,
    check(candidate) {
      if (used || clock.now() >= expiresAt || typeof candidate !== 'string' || candidate.length > 200)
        return false;
      return timingSafeEqual(createHash('sha256').update(candidate).digest(), digest);
    },
    claim(candidate) {
      if (!this.check(candidate)) return null;
      used = true;
      return () => {
        used = false;
      };
    },
  };
}
