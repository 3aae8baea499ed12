import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** ≥ 32 random bytes (256 bits), as OWASP asks of reset tokens. */
const SECRET_BYTES = 32;
const SECRET_LENGTH = 43;
/** How long a recovery link works. */
export const RECOVERY_LINK_MS = 60 * 60_000;

/**
 * A recovery link's token: `<user id, base64url>.<32 random bytes, base64url>`. The user id lets
 * the link find its user without scanning every user; only the random part is a secret, and only
 * its SHA-256 is stored.
 */
export function newRecoveryToken(userId: string): { token: string; hash: string } {
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { token: `${Buffer.from(userId, 'utf8').toString('base64url')}.${secret}`, hash: sha256(secret) };
}

/** The user id and the hash of the secret part; `null` for anything that is not such a token. */
export function parseRecoveryToken(token: unknown): { userId: string; hash: string } | null {
  if (typeof token !== 'string' || token.length > 512) return null;
  const match = /^([A-Za-z0-9_-]{1,400})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match || match[2]!.length !== SECRET_LENGTH) return null;
  const userId = Buffer.from(match[1]!, 'base64url').toString('utf8');
  if (userId === '' || Buffer.from(userId, 'utf8').toString('base64url') !== match[1]) return null;
  return { userId, hash: sha256(match[2]!) };
}

/** Compares two hashes in constant time. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** What a link remembers of the password hash it was issued under. */
export const passwordFingerprint = (passwordHash: string): string => sha256(passwordHash);

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
