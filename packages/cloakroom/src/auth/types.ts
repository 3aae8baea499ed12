import type { PasswordsBusyError } from './password-limit.js';

/**
 * A user account as the user store keeps it. `username` is stored canonical
 * (NFKC, lower-case: see `normalizeUsername`), so lookups compare canonical forms.
 */
export interface UserRecord {
  id: string;
  username: string;
  displayName: string;
  /** PHC string (`$argon2id$…`, or a legacy `$2b$…` bcrypt hash until the next sign-in). */
  passwordHash: string;
  roles: string[];
  locked: boolean;
  /**
   * Credential epoch, 0 for a new user. Every change that must end sessions (password change
   * or reset, lock, "sign out everywhere") advances it atomically; a session remembers the epoch
   * its sign-in read and is refused once they differ.
   */
  epoch: number;
  /**
   * The account's second-factor state (TOTP secret, encrypted; recovery code hashes; a pending
   * recovery link's hash) as one JSON document that only `auth` reads and writes, or `null` for
   * none. Opaque to the store: it keeps the text exactly and compares it exactly
   * (`UpdateCondition.ifSecondFactor`), so every change to it is a compare-and-set.
   */
  secondFactor: string | null;
  createdAt: number;
  updatedAt: number;
}

/** What a new user is made of; the store assigns `id`, `epoch` 0 and the timestamps. */
export interface NewUser {
  username: string;
  /**
   * The username's confusable skeleton (`usernameSkeleton`): unique like the username itself, so
   * `admin` and a Cyrillic `аdmin` cannot both exist, even when created at the same moment.
   */
  usernameKey: string;
  displayName: string;
  passwordHash: string;
  roles: string[];
  locked?: boolean;
}

/** The fields an update may change. */
export interface UserPatch {
  displayName?: string;
  passwordHash?: string;
  roles?: string[];
  locked?: boolean;
  /** Replace the second-factor document (`null` removes it). */
  secondFactor?: string | null;
  /** Advance the credential epoch by one, in the same atomic step as the rest of the patch. */
  advanceEpoch?: boolean;
}

/** What must still hold for an update to apply: a compare-and-set on the stored record. */
export interface UpdateCondition {
  /**
   * Apply only while the stored password hash is exactly this one. A re-hash on sign-in uses it,
   * so it cannot overwrite a password change that landed after the hash was verified.
   */
  ifPasswordHash?: string;
  /**
   * Apply only while some *other* user who is not locked has this role. Setting roles or locking
   * with `keepRole: 'admin'` can never leave the system without an unlocked admin, however many
   * such changes run at once (the check and the write are one atomic step: a transaction, a lock).
   */
  keepRole?: string;
  /**
   * Apply only while the stored second-factor document is exactly this text (`null`: while there
   * is none). Consuming a recovery code, a TOTP step or a recovery link uses it, so of N parallel
   * uses of one code exactly one changes the document and the others find it changed.
   */
  ifSecondFactor?: string | null;
}

/**
 * Where users live: separate from the session store (a session store knows nothing of users).
 * Failures throw `StoreError`; absence is `null`.
 */
export interface UserStore {
  /** Required. */
  getById(id: string): Promise<UserRecord | null>;
  /** Required. `username` is already canonical. */
  getByUsername(username: string): Promise<UserRecord | null>;
  /** Required. Throws `StoreError` with code `conflict` if the username or its `usernameKey` is taken. */
  create(user: NewUser, now: number): Promise<UserRecord>;
  /**
   * Required. Returns the updated user, or `null` if there is none with this id or `condition`
   * does not hold (then nothing changes). The check and the write are one atomic step.
   */
  update(id: string, patch: UserPatch, now: number, condition?: UpdateCondition): Promise<UserRecord | null>;
  /** Required. Every user, ordered by username. */
  list(): Promise<UserRecord[]>;
  /** Required. How many users exist (bootstrap checks for zero). */
  count(): Promise<number>;
  /** Optional. */
  ping?(): Promise<void>;
  /** Optional. */
  close?(): Promise<void>;
}

/** A fixed-window counter: the count and when the window ends (ms epoch). */
export interface CounterState {
  count: number;
  resetAt: number;
}

/**
 * Counters for sign-in throttling, kept in the store so every instance agrees.
 * Semantics are those of Redis `INCR` + `EXPIRE` when the count was 0.
 */
export interface CounterStore {
  /** Required. Adds one; a new counter's window ends at `now + windowMs`. */
  increment(key: string, windowMs: number, now: number): Promise<CounterState>;
  /** Required. The live counter, or `null` if absent or its window has ended. */
  get(key: string, now: number): Promise<CounterState | null>;
  /** Required. Removes the counter. */
  reset(key: string): Promise<void>;
}

/** argon2id parameters; the floor is OWASP's second row (m=19 MiB, t=2, p=1). */
export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** Result of a password check. `needsRehash`: correct, but stored with an outdated scheme. */
export interface PasswordCheck {
  ok: boolean;
  needsRehash: boolean;
}

/** Hashes and verifies passwords. Both run on libuv's thread pool, never on the event loop. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(storedHash: string, password: string): Promise<PasswordCheck>;
  /** Spends the time of one verification against nothing: unknown users cost what known ones do. */
  verifyDummy(password: string): Promise<void>;
  /**
   * Optional. If a call made now would be refused at once (every place of the hasher's limit
   * taken, its line full), that refusal, reported like any other; else `null`. Sign-in asks
   * first, so under a flood a refused attempt costs no store work at all.
   */
  refusal?(): PasswordsBusyError | null;
}
