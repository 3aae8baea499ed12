import { StoreError } from '../core/errors.js';
import { passwordPolicyError } from './password-policy.js';
import { hasSecondFactor } from './second-factor/document.js';
import type { PasswordHasher, UserRecord, UserStore } from './types.js';
import { isValidRole, normalizeUsername, usernameSkeleton } from './usernames.js';

/** A user as applications and APIs see it: never the password hash. */
export interface User {
  id: string;
  username: string;
  displayName: string;
  roles: string[];
  /** Whether a second factor is on: TOTP, or at least one passkey. */
  secondFactor: boolean;
}

/** The public view of a stored user (no hash ever leaves the server). */
export function toUser(record: UserRecord): User {
  return {
    id: record.id,
    username: record.username,
    displayName: record.displayName,
    roles: [...record.roles],
    secondFactor: hasSecondFactor(record.secondFactor),
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

/**
 * The one rule for role names, wherever they come from (API, admin page, CLI): trimmed and
 * lower-cased, so `Admin` and `admin` are the same role; then lower-case letters, digits and
 * `_.:-`, at most 64 characters and 32 roles; duplicates dropped, order kept.
 */
export function normalizeRoles(roles: unknown): string[] | null {
  if (!Array.isArray(roles) || roles.length > 32) return null;
  const out = new Set<string>();
  for (const role of roles) {
    const name = typeof role === 'string' ? role.trim().toLowerCase() : role;
    if (!isValidRole(name)) return null;
    out.add(name);
  }
  return [...out];
}

/** Message for a role list {@link normalizeRoles} refused. */
export const ROLES_MESSAGE = 'roles must be a list of names like "admin" (letters, digits, _.:-)';

/** Checks and normalises a role list (see {@link normalizeRoles}); throws {@link AccountError}. */
export function checkRoles(roles: unknown): string[] {
  const normalized = normalizeRoles(roles);
  if (!normalized) throw new AccountError('roles', ROLES_MESSAGE);
  return normalized;
}

/**
 * Characters a display name may not hold: controls (C0, DEL, C1), line and paragraph
 * separators, lone surrogates, and format characters — bidi overrides and isolates
 * (Trojan Source, CVE-2021-42574), zero-width space, word joiner, BOM, soft hyphen — which are
 * invisible and let one name pass for another. ZWNJ and ZWJ (U+200C, U+200D) are allowed:
 * Persian and Indic names and emoji sequences need them.
 */
const INVISIBLE = /(?![\u200c\u200d])[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/**
 * Checks a name a person gives something (their display name, a passkey): 1–`max` characters of
 * visible text, trimmed. Throws {@link AccountError} naming `field`.
 */
export function checkVisibleName(value: unknown, field: string, max: number): string {
  // A code point is at most two UTF-16 units: a longer string is refused before it is split.
  if (typeof value !== 'string' || value.length > 2 * max || [...value].length > max) {
    throw new AccountError(field, `${field} must be text of at most ${max} characters`);
  }
  if (INVISIBLE.test(value)) {
    throw new AccountError(
      field,
      `${field} must not contain control, bidirectional or zero-width characters`,
    );
  }
  const trimmed = value.trim();
  if (trimmed === '') throw new AccountError(field, `${field} must not be empty or only spaces`);
  return trimmed;
}

/** Checks a display name: 1–100 characters of visible text (trimmed). */
export function checkDisplayName(value: unknown): string {
  return checkVisibleName(value, 'displayName', 100);
}

/** A new account that passed every rule: what the user store is given (with the hash). */
export interface PreparedAccount {
  username: string;
  usernameKey: string;
  displayName: string;
  roles: string[];
  password: string;
}

/**
 * Applies every rule for a new account without touching a store: the canonical username, its
 * confusable skeleton, the password policy (which knows the username), roles, display name.
 * Returns the first rule broken as `{ field, message }`.
 */
export function prepareAccount(input: NewAccount): PreparedAccount | { field: string; message: string } {
  const username = normalizeUsername(input.username);
  if (!username) return { field: 'username', message: 'username must be 1–64 characters of text' };
  const problem = passwordPolicyError(input.password, { username });
  if (problem) return { field: 'password', message: `password ${problem}` };
  const roles = normalizeRoles(input.roles ?? []);
  if (!roles) return { field: 'roles', message: ROLES_MESSAGE };
  try {
    const displayName = checkDisplayName(input.displayName ?? input.username);
    return {
      username,
      usernameKey: usernameSkeleton(username),
      displayName,
      roles,
      password: input.password,
    };
  } catch (error) {
    if (error instanceof AccountError) return { field: error.field, message: error.message };
    throw error;
  }
}

/**
 * Stores a prepared account. A taken username — or one whose skeleton equals an existing
 * user's, such as a Cyrillic `аdmin` next to `admin` — throws {@link AccountError} `taken`.
 */
export async function storeAccount(
  users: UserStore,
  passwords: PasswordHasher,
  prepared: PreparedAccount,
  now: number,
): Promise<UserRecord> {
  const { password, ...rest } = prepared;
  const passwordHash = await passwords.hash(password);
  try {
    return await users.create({ ...rest, passwordHash }, now);
  } catch (error) {
    if (!(error instanceof StoreError && error.code === 'conflict')) throw error;
    const exact = await users.getByUsername(prepared.username);
    throw new AccountError(
      'username',
      exact
        ? 'that username is taken'
        : 'that username looks too much like an existing one; choose a clearly different name',
      'taken',
    );
  }
}

/**
 * Creates an account with a validated, canonical username and an argon2id hash. No audit event:
 * the account actions (`createUser`) write one.
 * @example
 * await createAccount(users, passwords, { username: 'alice', password: 'long enough', roles: ['admin'] });
 */
export async function createAccount(
  users: UserStore,
  passwords: PasswordHasher,
  input: NewAccount,
  now: number,
): Promise<User> {
  const prepared = prepareAccount(input);
  if (!('usernameKey' in prepared)) throw new AccountError(prepared.field, prepared.message);
  return toUser(await storeAccount(users, passwords, prepared, now));
}
