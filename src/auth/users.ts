import { StoreError } from '../core/errors.js';
import { type PasswordHasher, passwordPolicyError } from './passwords.js';
import type { UserRecord, UserStore } from './types.js';
import { isValidRole, normalizeUsername } from './usernames.js';

/** A user as applications and APIs see it: never the password hash. */
export interface User {
  id: string;
  username: string;
  displayName: string;
  roles: string[];
}

/** The public view of a stored user (checklist 49: no hash ever leaves the server). */
export function toUser(record: UserRecord): User {
  return {
    id: record.id,
    username: record.username,
    displayName: record.displayName,
    roles: [...record.roles],
  };
}

/** A refused account change; `field` names the input at fault. Callers answer 400 (or 409 for `taken`). */
export class AccountError extends Error {
  readonly code: 'invalid' | 'taken';
  readonly field: string;
  constructor(field: string, message: string, code: 'invalid' | 'taken' = 'invalid') {
    super(message);
    this.name = 'AccountError';
    this.field = field;
    this.code = code;
  }
}

export interface NewAccount {
  username: string;
  password: string;
  displayName?: string;
  roles?: readonly string[];
}

/** Checks a role list: valid names, no duplicates. */
export function checkRoles(roles: unknown): string[] {
  if (!Array.isArray(roles) || roles.length > 32 || !roles.every(isValidRole)) {
    throw new AccountError('roles', 'roles must be a list of names like "admin" (a-z, 0-9, _.:-)');
  }
  return [...new Set(roles)];
}

/**
 * Characters a display name may not hold: controls (C0, DEL, C1), line and paragraph
 * separators, lone surrogates, and format characters — bidi overrides and isolates
 * (Trojan Source, CVE-2021-42574), zero-width space, word joiner, BOM, soft hyphen — which are
 * invisible and let one name pass for another. ZWNJ and ZWJ (U+200C, U+200D) are allowed:
 * Persian and Indic names and emoji sequences need them.
 */
const INVISIBLE = /(?![\u200c\u200d])[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** Checks a display name: 1–100 characters of visible text (trimmed). */
export function checkDisplayName(value: unknown): string {
  if (typeof value !== 'string' || [...value].length > 100) {
    throw new AccountError('displayName', 'displayName must be text of at most 100 characters');
  }
  if (INVISIBLE.test(value)) {
    throw new AccountError(
      'displayName',
      'displayName must not contain control, bidirectional or zero-width characters',
    );
  }
  const trimmed = value.trim();
  if (trimmed === '') throw new AccountError('displayName', 'displayName must not be empty or only spaces');
  return trimmed;
}

/**
 * Creates an account with a validated, canonical username and an argon2id hash.
 * @example
 * await createAccount(users, passwords, { username: 'alice', password: 'long enough', roles: ['admin'] });
 */
export async function createAccount(
  users: UserStore,
  passwords: PasswordHasher,
  input: NewAccount,
  now: number,
): Promise<User> {
  const username = normalizeUsername(input.username);
  if (!username) throw new AccountError('username', 'username must be 1–64 characters of text');
  const problem = passwordPolicyError(input.password);
  if (problem) throw new AccountError('password', `password ${problem}`);
  const roles = checkRoles(input.roles ?? []);
  const displayName = checkDisplayName(input.displayName ?? input.username);
  const passwordHash = await passwords.hash(input.password);
  try {
    return toUser(
      await users.create({ username, displayName: displayName || username, passwordHash, roles }, now),
    );
  } catch (error) {
    if (error instanceof StoreError && error.code === 'conflict') {
      throw new AccountError('username', 'that username is taken', 'taken');
    }
    throw error;
  }
}
