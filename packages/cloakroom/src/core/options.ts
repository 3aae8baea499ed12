import { type Clock, systemClock } from './clock.js';
import {
  type CookieOptions,
  type CookiePolicy,
  createCookiePolicy,
  MAX_COOKIE_NAME_LENGTH,
} from './cookie.js';
import type { SessionCrypto } from './crypto.js';
import { type Duration, parseDuration } from './duration.js';
import { ConfigError } from './errors.js';
import { createKeyring, type Keyring } from './keyring.js';
import { nodeCrypto } from './node-crypto.js';
import { normalizeTrustedOrigins } from './origin.js';
import type { SessionStore } from './store.js';
import { VERIFIED_SIGNATURES_MAX } from './verified-signatures.js';

/** Appended to the session cookie's name for the login form's nonce cookie. */
const LOGIN_SUFFIX = '-login';
/** Appended to the session cookie's name for the pending sign-in cookie (between two factors). */
const PENDING_SUFFIX = '-pending';
/** Appended to the session cookie's name for the passkey ceremony cookie (a sign-in without a session). */
const CEREMONY_SUFFIX = '-passkey';
/** Appended to the session cookie's name for the bound cookie of a device-bound session. */
const BOUND_SUFFIX = '-bound';

/**
 * Device Bound Session Credentials: sessions a browser binds to a key in the device's hardware.
 * Durations accept `'90s'`, `'10m'` or seconds.
 */
export interface DbscOptions {
  /** Where browsers post their registration proof. Default `/auth/dbsc/register`. */
  registrationPath?: string;
  /** Where browsers trade a proof for a new bound cookie. Default `/auth/dbsc/refresh`. */
  refreshPath?: string;
  /**
   * Lifetime of the bound cookie: how long a copied cookie pair keeps working elsewhere, and how
   * often the device signs a challenge. Default `10m`; from `10s` to `1h`.
   */
  boundCookieTimeout?: Duration;
  /** How long a challenge can be signed. Default `5m`; from `10s` to `10m`. */
  challengeTimeout?: Duration;
  /**
   * Paths the bound cookie is not needed for (static assets, the sign-in page): the browser sends
   * them without waiting for a refresh. The default is none: the whole origin is bound.
   */
  excludePaths?: readonly string[];
  /** Signature algorithms offered, in order of preference. Default `['ES256', 'RS256']`. */
  algorithms?: readonly ('ES256' | 'RS256')[];
}

/** {@link DbscOptions} after validation. */
export interface ResolvedDbsc {
  readonly registrationPath: string;
  readonly refreshPath: string;
  readonly boundMs: number;
  readonly challengeMs: number;
  readonly excludePaths: readonly string[];
  readonly algorithms: readonly ('ES256' | 'RS256')[];
  readonly cookie: CookiePolicy;
}

/** Options of {@link createSessions}. Durations accept `'30m'`, `'12h'`, `'30d'` or seconds. */
export interface SessionsOptions {
  /**
   * Keyring, newest first: the newest signs, all verify. Each needs 32 random bytes. A string is
   * a comma-separated list (the format of `CLOAKROOM_SECRETS`), so `process.env.CLOAKROOM_SECRETS`
   * can be passed as it is; unset or empty is refused with "not set" at start-up.
   */
  secrets: string | readonly string[] | undefined;
  store: SessionStore;
  /** Default `30m`. */
  idleTimeout?: Duration;
  /** Default `12h`. */
  absoluteTimeout?: Duration;
  /** Absolute lifetime of a "remember me" sign-in. Default `30d`. */
  rememberTimeout?: Duration;
  /** Idle timeout of a "remember me" sign-in. Default `7d`. */
  rememberIdleTimeout?: Duration;
  /** Least time between two renewal writes of one session. Default `60s`. */
  touchInterval?: Duration;
  cookie?: CookieOptions;
  /**
   * How recent the last proof of a factor must be for sensitive actions (`requireRecentAuth`,
   * `sessions.isRecent`). Default `10m`.
   */
  reauthWindow?: Duration;
  /** How long a pending sign-in (password done, second factor to come) lasts. Default `5m`. */
  pendingTimeout?: Duration;
  /** Cap on the JSON size of per-session data. Default 16384 bytes. */
  maxDataBytes?: number;
  /** Extra origins allowed to send unsafe requests (exact `https://host[:port]`). */
  trustedOrigins?: readonly string[];
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: synchronous `node:crypto`. */
  crypto?: SessionCrypto;
  /**
   * How many verified cookie signatures to remember (by store key), so a cookie presented again
   * skips its HMAC. Nothing replayable is kept (docs/security.md). Default 10,000; `0` turns it off.
   */
  rememberVerified?: number;
  /**
   * Device Bound Session Credentials: `true` or options turn them on (off by default). After
   * sign-in, browsers that support them bind the session to a device key; a bound session then
   * also needs a short-lived bound cookie only that device can renew. The store must implement
   * `bind` (every cloakroom store does).
   */
  dbsc?: boolean | DbscOptions;
}

/** Options after validation: what the per-request path reads. */
export interface ResolvedOptions {
  readonly store: SessionStore;
  readonly keyring: Keyring;
  readonly cookie: CookiePolicy;
  readonly loginCookie: CookiePolicy;
  readonly pendingCookie: CookiePolicy;
  readonly ceremonyCookie: CookiePolicy;
  readonly reauthMs: number;
  readonly pendingMs: number;
  readonly idleMs: number;
  readonly absoluteMs: number;
  readonly rememberMs: number;
  readonly rememberIdleMs: number;
  readonly touchMs: number;
  readonly maxDataBytes: number;
  readonly trustedOrigins: ReadonlySet<string>;
  readonly clock: Clock;
  readonly crypto: SessionCrypto;
  readonly rememberVerified: number;
  readonly dbsc: ResolvedDbsc | null;
}

/** Validates every option once, so the per-request path does no option handling; throws {@link ConfigError} naming the option. */
export function resolveOptions(options: SessionsOptions): ResolvedOptions {
  if (!options || typeof options.store?.get !== 'function') {
    throw new ConfigError(
      'store',
      'a session store is required, e.g. createSqliteStore() or createMemoryStore()',
    );
  }
  const crypto = options.crypto ?? nodeCrypto;
  const idleMs = parseDuration(options.idleTimeout ?? '30m', 'idleTimeout');
  const absoluteMs = parseDuration(options.absoluteTimeout ?? '12h', 'absoluteTimeout');
  const rememberMs = parseDuration(options.rememberTimeout ?? '30d', 'rememberTimeout');
  const rememberIdleMs = parseDuration(options.rememberIdleTimeout ?? '7d', 'rememberIdleTimeout');
  const touchMs = parseDuration(options.touchInterval ?? '60s', 'touchInterval');
  if (idleMs > absoluteMs) throw new ConfigError('idleTimeout', 'must not be longer than absoluteTimeout');
  if (rememberIdleMs > rememberMs) {
    throw new ConfigError('rememberIdleTimeout', 'must not be longer than rememberTimeout');
  }
  if (touchMs >= idleMs) throw new ConfigError('touchInterval', 'must be shorter than idleTimeout');
  const reauthMs = parseDuration(options.reauthWindow ?? '10m', 'reauthWindow');
  const pendingMs = parseDuration(options.pendingTimeout ?? '5m', 'pendingTimeout');
  if (pendingMs > 3_600_000) throw new ConfigError('pendingTimeout', 'must be at most 1h');
  const maxDataBytes = options.maxDataBytes ?? 16_384;
  if (!Number.isInteger(maxDataBytes) || maxDataBytes < 2) {
    throw new ConfigError('maxDataBytes', 'must be a positive whole number of bytes');
  }
  const rememberVerified = options.rememberVerified ?? VERIFIED_SIGNATURES_MAX;
  if (!Number.isSafeInteger(rememberVerified) || rememberVerified < 0) {
    throw new ConfigError('rememberVerified', 'must be a whole number of entries (0 turns it off)');
  }
  const cookieName = options.cookie?.name ?? 'cloakroom';
  return {
    store: options.store,
    keyring: createKeyring(secretList(options.secrets), crypto),
    cookie: createCookiePolicy(options.cookie),
    // `cookie` above has checked the base name; the suffix may take it past the limit.
    loginCookie: createCookiePolicy(
      { ...options.cookie, name: `${cookieName}${LOGIN_SUFFIX}` },
      'cookie',
      MAX_COOKIE_NAME_LENGTH + LOGIN_SUFFIX.length,
    ),
    pendingCookie: createCookiePolicy(
      { ...options.cookie, name: `${cookieName}${PENDING_SUFFIX}` },
      'cookie',
      MAX_COOKIE_NAME_LENGTH + PENDING_SUFFIX.length,
    ),
    ceremonyCookie: createCookiePolicy(
      { ...options.cookie, name: `${cookieName}${CEREMONY_SUFFIX}` },
      'cookie',
      MAX_COOKIE_NAME_LENGTH + CEREMONY_SUFFIX.length,
    ),
    reauthMs,
    pendingMs,
    idleMs,
    absoluteMs,
    rememberMs,
    rememberIdleMs,
    touchMs,
    maxDataBytes,
    trustedOrigins: normalizeTrustedOrigins(options.trustedOrigins ?? []),
    clock: options.clock ?? systemClock,
    crypto,
    rememberVerified,
    dbsc: resolveDbsc(options, cookieName),
  };
}

/**
 * A path browsers post to: absolute, no query, nothing that needs quoting in a header, and no
 * percent-escapes (some frameworks compare the decoded path, some the raw one).
 */
const ENDPOINT_PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/;

function resolveDbsc(options: SessionsOptions, cookieName: string): ResolvedDbsc | null {
  const dbsc = options.dbsc;
  if (dbsc === undefined || dbsc === false) return null;
  if (dbsc !== true && (typeof dbsc !== 'object' || dbsc === null)) {
    throw new ConfigError('dbsc', 'must be true, false or an options object');
  }
  const d: DbscOptions = dbsc === true ? {} : dbsc;
  if (typeof options.store.bind !== 'function') {
    throw new ConfigError(
      'dbsc',
      'the session store does not implement bind(), which device-bound sessions need',
    );
  }
  const path = (value: string | undefined, fallback: string, option: string) => {
    const p = value ?? fallback;
    if (typeof p !== 'string' || !ENDPOINT_PATH.test(p) || p.includes('"')) {
      throw new ConfigError(
        option,
        `must be an absolute path such as ${fallback} (no query), got ${JSON.stringify(p)}`,
      );
    }
    return p;
  };
  const registrationPath = path(d.registrationPath, '/auth/dbsc/register', 'dbsc.registrationPath');
  const refreshPath = path(d.refreshPath, '/auth/dbsc/refresh', 'dbsc.refreshPath');
  if (registrationPath === refreshPath) {
    throw new ConfigError('dbsc.refreshPath', 'must differ from dbsc.registrationPath');
  }
  const boundMs = parseDuration(d.boundCookieTimeout ?? '10m', 'dbsc.boundCookieTimeout');
  if (boundMs < 10_000 || boundMs > 3_600_000) {
    throw new ConfigError('dbsc.boundCookieTimeout', 'must be from 10s to 1h');
  }
  const challengeMs = parseDuration(d.challengeTimeout ?? '5m', 'dbsc.challengeTimeout');
  if (challengeMs < 10_000 || challengeMs > 600_000) {
    throw new ConfigError('dbsc.challengeTimeout', 'must be from 10s to 10m');
  }
  const excludePaths = [...(d.excludePaths ?? [])].map((p, i) =>
    path(p, '/assets', `dbsc.excludePaths[${i}]`),
  );
  const algorithms = [...(d.algorithms ?? ['ES256', 'RS256'])];
  if (algorithms.length === 0 || algorithms.some((a) => a !== 'ES256' && a !== 'RS256')) {
    throw new ConfigError('dbsc.algorithms', 'must list ES256 and/or RS256 (never none)');
  }
  return {
    registrationPath,
    refreshPath,
    boundMs,
    challengeMs,
    excludePaths,
    algorithms: [...new Set(algorithms)],
    cookie: createCookiePolicy(
      { ...options.cookie, name: `${cookieName}${BOUND_SUFFIX}` },
      'cookie',
      MAX_COOKIE_NAME_LENGTH + BOUND_SUFFIX.length,
    ),
  };
}

/**
 * The keyring's secrets from what a caller passed: a comma-separated string (as an environment
 * variable holds it) or a list. A missing value is "not set", not a weak secret of 0 bytes.
 */
function secretList(secrets: unknown): string[] {
  if (secrets === undefined || secrets === '') {
    throw new ConfigError(
      'secrets',
      'not set; pass one or more secrets (e.g. secrets: process.env.CLOAKROOM_SECRETS), newest first; generate one with `npx cloakroom-server secret new`',
    );
  }
  if (typeof secrets !== 'string' && !Array.isArray(secrets)) {
    throw new ConfigError('secrets', 'must be a list of strings or one comma-separated string');
  }
  const list: unknown[] = typeof secrets === 'string' ? secrets.split(',').map((s) => s.trim()) : secrets;
  list.forEach((secret, i) => {
    if (secret === undefined || secret === '') {
      throw new ConfigError(
        'secrets',
        `secret #${i + 1} is not set (${secret === '' ? 'empty' : String(secret)})`,
      );
    }
    if (typeof secret !== 'string') throw new ConfigError('secrets', `secret #${i + 1} must be a string`);
  });
  return list as string[];
}
