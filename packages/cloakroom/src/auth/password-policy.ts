import { createRequire } from 'node:module';
import { caseFold } from 'unicode-case-folding';
import { normalizeUsername } from './usernames.js';

// This module decides which passwords may be set. It loads no native code (the hashers in
// passwords.ts do), so the CLI, config checks and pages can use it on their own.

/**
 * Passwords longer than this are refused before hashing: hashing cost must not be
 * attacker-controlled (Django CVE-2013-1443), and nothing is ever truncated.
 */
export const MAX_PASSWORD_BYTES = 1024;
/** Shortest password accepted when one is set (NIST 800-63B: at least 8; no composition rules). */
export const MIN_PASSWORD_LENGTH = 8;
/** A username shorter than this is not looked for inside the password: `al` is in too many words. */
const MIN_USERNAME_IN_PASSWORD = 3;

/** What the policy knows about the account whose password is being set. */
export interface PasswordPolicyContext {
  /** The account's username, raw or canonical; it is normalised here. */
  username?: string;
}

/**
 * Why a password cannot be set, as words that complete "password …" (callers prepend
 * "password" or "The new password"), or `null` if it can. NIST SP 800-63B §5.1.1.2: at least
 * {@link MIN_PASSWORD_LENGTH} characters, no composition rules, not a commonly used password,
 * not derived from the username.
 * @example
 * passwordPolicyError('Password1'); // 'is one of the most commonly used passwords; choose another'
 * passwordPolicyError('alice in chains', { username: 'Alice' }); // 'must not contain the username: …'
 */
export function passwordPolicyError(password: unknown, context: PasswordPolicyContext = {}): string | null {
  if (typeof password !== 'string') return 'must be a string';
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) return `must be at most ${MAX_PASSWORD_BYTES} bytes`;
  if ([...password].length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  const folded = foldForComparison(password);
  if (commonPasswords().has(folded)) {
    return 'is one of the most commonly used passwords; choose another';
  }
  const username = normalizeUsername(context.username);
  if (username && [...username].length >= MIN_USERNAME_IN_PASSWORD && folded.includes(username)) {
    return 'must not contain the username: it is among the first guesses an attacker tries';
  }
  return null;
}

/**
 * Whether a password is on the common-password blocklist, compared after NFKC and case folding
 * (`Password1` matches `password1`).
 */
export function isCommonPassword(password: string): boolean {
  return commonPasswords().has(foldForComparison(password));
}

/** How many passwords the blocklist holds (loading it if it is not loaded yet). */
export function commonPasswordCount(): number {
  return commonPasswords().size;
}

/** The form both the blocklist and the username are compared in: NFKC, then full case folding. */
function foldForComparison(text: string): string {
  return caseFold(text.normalize('NFKC')).normalize('NFKC');
}

let blocklist: Set<string> | undefined;

/**
 * The 49,233 passwords of `@zxcvbn-ts/language-common` ("passwords-common"): the most frequent
 * ones (seen more than 10 times) of Mark Burnett's ten-million-password corpus, lower-cased,
 * ASCII only, minus those that zxcvbn's own pattern rules (repeats, sequences, dates) would guess
 * sooner than their rank, so `aaaaaaaa` is not on it. Read on the first password checked, not at
 * import (the package decompresses the list, about 50 ms), and kept as a Set. Offline: nothing is
 * looked up over the network.
 */
function commonPasswords(): Set<string> {
  if (!blocklist) {
    const { dictionary } = createRequire(import.meta.url)(
      '@zxcvbn-ts/language-common',
    ) as typeof import('@zxcvbn-ts/language-common');
    blocklist = new Set(dictionary['passwords-common'].map(foldForComparison));
  }
  return blocklist;
}
