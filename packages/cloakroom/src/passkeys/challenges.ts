import { createHash, randomBytes } from 'node:crypto';
import type { Passkeys } from './config.js';

/** What a challenge was issued for; a challenge of one purpose never finishes another. */
export type CeremonyPurpose = 'register' | 'signin' | 'second-factor' | 'reauth';

/** 32 random bytes: WebAuthn asks for at least 16 (section 13.4.3). */
const CHALLENGE_BYTES = 32;
/** The base64url length of {@link CHALLENGE_BYTES}: anything else was never issued here. */
export const CHALLENGE_LENGTH = 43;

/**
 * The counter key of a challenge. The challenge itself is never a key (keys may show up in a
 * store's logs or admin tools): its SHA-256 is. The binding (a session id, a pending nonce, a
 * ceremony id) is part of the key, so a challenge issued to one of them is unknown to any other.
 */
const keyOf = (purpose: CeremonyPurpose, binding: string, challenge: string) =>
  `webauthn:${purpose}:${binding}:${createHash('sha256').update(challenge).digest('base64url')}`;

/**
 * A new challenge for `purpose`, bound to `binding`, recorded in the shared counter store (count
 * 1, for the challenge lifetime) so any instance can finish the ceremony. Returns its raw bytes
 * (what the options carry) and their base64url text (what `clientDataJSON` will hold).
 */
export async function issueChallenge(
  passkeys: Passkeys,
  purpose: CeremonyPurpose,
  binding: string,
  now: number,
): Promise<{ bytes: Uint8Array<ArrayBuffer>; text: string }> {
  const bytes = new Uint8Array(randomBytes(CHALLENGE_BYTES));
  const text = Buffer.from(bytes).toString('base64url');
  await passkeys.counters.increment(keyOf(purpose, binding, text), passkeys.challengeMs, now);
  return { bytes, text };
}

/**
 * Uses a challenge up, before anything about the response is verified: it holds only if it was
 * issued for this purpose and binding, is still live, and this call is the one that takes it
 * from count 1 to 2 — so of N parallel finishes of one response exactly one goes on. A challenge
 * that is not live is looked at, never created: otherwise a second try with the same unknown
 * challenge would find the count 1 that the first try left and count 2.
 */
export async function claimChallenge(
  passkeys: Passkeys,
  purpose: CeremonyPurpose,
  binding: string,
  challenge: string,
  now: number,
): Promise<boolean> {
  if (challenge.length !== CHALLENGE_LENGTH) return false;
  const key = keyOf(purpose, binding, challenge);
  if ((await passkeys.counters.get(key, now)) === null) return false;
  const claimed = await passkeys.counters.increment(key, passkeys.challengeMs, now);
  // 1: it expired between the two calls and this increment made a new counter; removed, so a
  // later try finds nothing rather than this count of 1.
  if (claimed.count === 1) await passkeys.counters.reset(key);
  return claimed.count === 2;
}

/**
 * How long a used-up sign-in challenge is remembered beyond its ceremony's lifetime: instances
 * whose clocks differ a little must not find it free again while its cookie still reads as live.
 */
const CLOCK_SKEW_MS = 60_000;

/**
 * The challenge of a passwordless sign-in, derived from its ceremony id (the random id in the
 * signed, `HttpOnly` ceremony cookie): SHA-256 of the id under a label of its own. Beginning a
 * sign-in is open to anyone, so it writes nothing to the store; the challenge is as
 * unpredictable as the id, bound to the cookie, and lives as long as the cookie does. Any
 * instance derives the same challenge from the same cookie.
 */
export function ceremonyChallenge(ceremonyId: string): { bytes: Uint8Array<ArrayBuffer>; text: string } {
  const digest = createHash('sha256').update(`webauthn-signin-challenge:${ceremonyId}`).digest();
  const bytes = new Uint8Array(digest);
  return { bytes, text: digest.toString('base64url') };
}

/**
 * Uses up the challenge of a passwordless sign-in, before anything else about the response is
 * verified: it holds only if it is the one derived from this request's ceremony id (a live,
 * signed ceremony cookie: the caller has read it) and this call is the first to count it — of N
 * parallel finishes of one response exactly one goes on. A challenge that is not this
 * ceremony's is refused without a write.
 */
export async function claimCeremonyChallenge(
  passkeys: Passkeys,
  ceremonyId: string,
  challenge: string,
  now: number,
): Promise<boolean> {
  const expected = ceremonyChallenge(ceremonyId).text;
  if (challenge !== expected) return false;
  const key = keyOf('signin', 'ceremony', expected);
  const claimed = await passkeys.counters.increment(key, passkeys.challengeMs + CLOCK_SKEW_MS, now);
  return claimed.count === 1;
}
