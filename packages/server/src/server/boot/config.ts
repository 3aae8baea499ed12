import { statSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { dirname, resolve } from 'node:path';
import {
  ConfigError,
  normalizeRoles,
  normalizeTrustedOrigins,
  parseDuration,
  prepareAccount,
} from 'cloakroom';
import { LOG_FORMATS, type LogFormatSetting } from '../http/log-format.js';
import { loadCacheConfig } from './cache-config.js';
import { loadPasskeyConfig, type PasskeySettings } from './passkey-config.js';
import { loadRedisTopology, type RedisClusterSettings, type RedisSentinelSettings } from './redis-config.js';
import { type Env, loadSecrets, type SecretsSource } from './secrets.js';
import { loadSigninLimit, type SigninLimit } from './signin-config.js';

export type { Env };

/** The server's settings, read from the environment (docs/configuration.md). */
export interface ServerConfig {
  port: number;
  host: string;
  production: boolean;
  secrets: string[];
  /** Where the secrets came from, for the start-up line (never the secrets themselves). */
  secretsSource: SecretsSource;
  dataDir: string;
  redisUrl: string | null;
  /** `REDIS_CLUSTER_NODES` (docs/scaling.md): sessions on a Redis Cluster. */
  redisCluster: RedisClusterSettings | null;
  /** `REDIS_SENTINELS` + `REDIS_SENTINEL_MASTER`: sessions on the primary Sentinel names. */
  redisSentinel: RedisSentinelSettings | null;
  databaseUrl: string | null;
  /** Longest wait for one Redis or PostgreSQL call before it fails as `unavailable` (503). */
  storeTimeoutMs: number;
  /** `CLOAKROOM_CACHE_ENTRIES`: the bound of each store read cache; `0` = no cache. */
  cacheEntries: number;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  rememberTimeoutMs: number;
  rememberIdleTimeoutMs: number;
  touchIntervalMs: number;
  cookieSecure: boolean | 'auto';
  cookieSameSite: 'lax' | 'strict';
  trustedOrigins: string[];
  trustProxy: boolean;
  admin: { username: string; password: string } | null;
  /** `CLOAKROOM_PUBLIC_URL`: the origin users reach the server at (`https://login.example.com`), or `null`. */
  publicUrl: string | null;
  /**
   * The WebAuthn relying party (`CLOAKROOM_PASSKEYS`, `CLOAKROOM_PASSKEY_RP_ID`, the public URL),
   * or `null`: passkeys off.
   */
  passkeys: PasskeySettings | null;
  /** Why `CLOAKROOM_PASSKEYS=auto` left passkeys off: logged once at start-up, or `null`. */
  passkeysWarning: string | null;
  /** `CLOAKROOM_REQUIRE_2FA_ROLES`: users with one of these roles must enrol a second factor. */
  require2faRoles: string[];
  /** `CLOAKROOM_REAUTH_WINDOW`: how recent a proof of a factor must be for a sensitive action. */
  reauthWindowMs: number;
  /** `CLOAKROOM_DBSC`: offer Device Bound Session Credentials to browsers that support them. */
  dbsc: boolean;
  throttleAccount: { failures: number; windowMs: number };
  throttleIp: { failures: number; windowMs: number };
  /** Password checks at once, waiting, and the longest wait (`CLOAKROOM_SIGNIN_*`). */
  signinLimit: SigninLimit;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `LOG_FORMAT`: `auto` (text for a person when stdout is a terminal, else JSON), `json`, `pretty`. */
  logFormat: LogFormatSetting;
}

/** Reads the environment once; every bad value throws a ConfigError naming the variable. */
export function loadConfig(env: Env, options: { needSecrets?: boolean } = {}): ServerConfig {
  const production = env.NODE_ENV === 'production';
  const dataDir = resolve(env.CLOAKROOM_DATA_DIR || './data');
  const needSecrets = options.needSecrets ?? true;
  const devSecret = needSecrets && !env.CLOAKROOM_SECRETS && !env.CLOAKROOM_SECRETS_FILE;
  // Checked up front whenever the data dir will be used (the SQLite file, the development
  // secret): otherwise a file in its path surfaces later as a bare ENOTDIR.
  if (!env.DATABASE_URL || devSecret) checkDataDir(dataDir);
  const { secrets, source } =
    needSecrets || env.CLOAKROOM_SECRETS || env.CLOAKROOM_SECRETS_FILE
      ? loadSecrets(env, production, dataDir)
      : { secrets: [], source: 'none' as const };
  const idle = duration(env, 'CLOAKROOM_IDLE_TIMEOUT', '30m');
  const absolute = duration(env, 'CLOAKROOM_ABSOLUTE_TIMEOUT', '12h');
  const remember = duration(env, 'CLOAKROOM_REMEMBER_TIMEOUT', '30d');
  const rememberIdle = duration(env, 'CLOAKROOM_REMEMBER_IDLE_TIMEOUT', '7d');
  const touch = duration(env, 'CLOAKROOM_TOUCH_INTERVAL', '60s');
  if (idle > absolute) fail('CLOAKROOM_IDLE_TIMEOUT', 'must not be longer than CLOAKROOM_ABSOLUTE_TIMEOUT');
  if (rememberIdle > remember) {
    fail('CLOAKROOM_REMEMBER_IDLE_TIMEOUT', 'must not be longer than CLOAKROOM_REMEMBER_TIMEOUT');
  }
  if (touch >= idle) fail('CLOAKROOM_TOUCH_INTERVAL', 'must be shorter than CLOAKROOM_IDLE_TIMEOUT');
  const listenPort = port(env.PORT);
  const origin = publicUrl(env.CLOAKROOM_PUBLIC_URL);
  return {
    port: listenPort,
    host: host(env.HOST),
    production,
    secrets,
    secretsSource: source,
    dataDir,
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    ...loadRedisTopology(env),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    storeTimeoutMs: storeTimeout(env),
    ...loadCacheConfig(env),
    idleTimeoutMs: idle,
    absoluteTimeoutMs: absolute,
    rememberTimeoutMs: remember,
    rememberIdleTimeoutMs: rememberIdle,
    touchIntervalMs: touch,
    cookieSecure: choice(env, 'CLOAKROOM_COOKIE_SECURE', { auto: 'auto', true: true, false: false }, 'auto'),
    cookieSameSite: choice(
      env,
      'CLOAKROOM_COOKIE_SAMESITE',
      { lax: 'lax', strict: 'strict' } as const,
      'lax',
    ),
    trustedOrigins: trustedOrigins(env.CLOAKROOM_TRUSTED_ORIGINS),
    trustProxy: choice(env, 'CLOAKROOM_TRUST_PROXY', { true: true, false: false }, false),
    admin: admin(env),
    publicUrl: origin,
    ...loadPasskeyConfig(env, { port: listenPort, production, publicUrl: origin }),
    require2faRoles: roleList(env, 'CLOAKROOM_REQUIRE_2FA_ROLES'),
    reauthWindowMs: reauthWindow(env),
    dbsc: choice(env, 'CLOAKROOM_DBSC', { on: true, off: false }, false),
    throttleAccount: limit(env, 'CLOAKROOM_THROTTLE_ACCOUNT', '5/15m'),
    throttleIp: limit(env, 'CLOAKROOM_THROTTLE_IP', '100/15m'),
    ...loadSigninLimit(env),
    logLevel: choice(
      env,
      'LOG_LEVEL',
      {
        fatal: 'fatal',
        error: 'error',
        warn: 'warn',
        info: 'info',
        debug: 'debug',
        trace: 'trace',
        silent: 'silent',
      } as const,
      'info',
    ),
    logFormat: choice(env, 'LOG_FORMAT', LOG_FORMATS, 'auto'),
  };
}

function fail(variable: string, message: string): never {
  throw new ConfigError(variable, message);
}

function port(value: string | undefined): number {
  if (value === undefined || value === '') return 3000;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    fail('PORT', `must be a port number 0–65535, got ${JSON.stringify(value)}`);
  return n;
}

function host(value: string | undefined): string {
  if (value === undefined || value === '') return '127.0.0.1';
  // A host name is resolved when the server listens (a failure there names HOST too); what can
  // only be a mistyped IPv4 address (`999.1.1.1`) is refused now.
  if (/\s/.test(value) || (/^[\d.]+$/.test(value) && !isIPv4(value))) {
    fail(
      'HOST',
      `must be an address or host name to listen on, such as 127.0.0.1 or 0.0.0.0; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** The data dir, or the first of its ancestors that exists, must be a directory. */
function checkDataDir(dataDir: string): void {
  for (let path = dataDir; ; path = dirname(path)) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ENOTDIR: an ancestor is a file; the walk up finds it.
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(path) !== path) continue;
      fail('CLOAKROOM_DATA_DIR', `cannot use ${dataDir} (${code ?? 'error'})`);
    }
    if (isDirectory) return;
    fail(
      'CLOAKROOM_DATA_DIR',
      path === dataDir
        ? `${dataDir} is a file, not a directory`
        : `cannot create ${dataDir}: ${path} is a file, not a directory`,
    );
  }
}

function duration(env: Env, variable: string, fallback: string): number {
  return parseDuration(env[variable] || fallback, variable);
}

// A hung store must answer 503 while a load balancer or a person is still waiting; longer than a
// minute is a misconfiguration, not patience.
function storeTimeout(env: Env): number {
  const ms = duration(env, 'CLOAKROOM_STORE_TIMEOUT', '2s');
  if (ms > 60_000) fail('CLOAKROOM_STORE_TIMEOUT', 'must not be longer than 60s');
  return ms;
}

// A proof that stays "recent" for longer than a working day protects nothing; GitHub's sudo mode
// lasts 2 h, Laravel's password confirmation 3 h.
function reauthWindow(env: Env): number {
  const ms = duration(env, 'CLOAKROOM_REAUTH_WINDOW', '10m');
  if (ms > 86_400_000) fail('CLOAKROOM_REAUTH_WINDOW', 'must not be longer than 24h');
  return ms;
}

function choice<T>(env: Env, variable: string, options: Record<string, T>, fallback: T): T {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const key = raw.trim().toLowerCase();
  if (!Object.hasOwn(options, key))
    fail(variable, `must be one of ${Object.keys(options).join(', ')}; got ${JSON.stringify(raw)}`);
  return options[key] as T;
}

function url(env: Env, variable: string, protocols: string[]): string | null {
  const raw = env[variable];
  if (!raw) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return fail(variable, `must be a URL such as ${protocols[0]}//host:port (the value is not shown)`);
  }
  if (!protocols.includes(parsed.protocol)) fail(variable, `must start with ${protocols.join(' or ')}//`);
  return raw;
}

function trustedOrigins(raw: string | undefined): string[] {
  const list = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return [...normalizeTrustedOrigins(list, 'CLOAKROOM_TRUSTED_ORIGINS')];
}

function roleList(env: Env, variable: string): string[] {
  const list = (env[variable] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const roles = normalizeRoles(list);
  if (!roles)
    fail(
      variable,
      `must be a comma-separated list of role names such as admin,ops; got ${JSON.stringify(env[variable])}`,
    );
  return roles;
}

/**
 * The origin links are built on (recovery links printed by the CLI): scheme, host and port only.
 * A path would be dropped silently by `new URL(path, origin)`, and credentials would end up in
 * every printed link, so both are refused rather than guessed at.
 */
function publicUrl(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === '') return null;
  const example = 'such as https://login.example.com';
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    return fail('CLOAKROOM_PUBLIC_URL', `must be an origin ${example}; got ${JSON.stringify(raw)}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    fail('CLOAKROOM_PUBLIC_URL', `must start with https:// or http://, ${example}`);
  if (parsed.username || parsed.password)
    fail('CLOAKROOM_PUBLIC_URL', 'must not contain a user name or password');
  if (parsed.pathname !== '/' || parsed.search || parsed.hash)
    fail('CLOAKROOM_PUBLIC_URL', `must be an origin without a path, query or fragment, ${example}`);
  return parsed.origin;
}

function admin(env: Env): ServerConfig['admin'] {
  const username = env.CLOAKROOM_ADMIN_USER;
  const password = env.CLOAKROOM_ADMIN_PASSWORD;
  if (!username && !password) return null;
  if (!username) fail('CLOAKROOM_ADMIN_USER', 'is required when CLOAKROOM_ADMIN_PASSWORD is set');
  if (!password) fail('CLOAKROOM_ADMIN_PASSWORD', 'is required when CLOAKROOM_ADMIN_USER is set');
  // The rules every new account meets, checked before any database is opened.
  const refused = prepareAccount({ username, password, roles: ['admin'] });
  if (!('usernameKey' in refused)) {
    if (refused.field === 'password')
      fail('CLOAKROOM_ADMIN_PASSWORD', refused.message.replace(/^password /, ''));
    if (refused.field === 'displayName')
      fail('CLOAKROOM_ADMIN_USER', `becomes the admin's display name, and ${refused.message}`);
    fail('CLOAKROOM_ADMIN_USER', 'must be 1–64 characters of text, without control or invisible characters');
  }
  return { username, password };
}

function limit(env: Env, variable: string, fallback: string): { failures: number; windowMs: number } {
  const raw = env[variable] || fallback;
  const match = /^(\d+)\/(.+)$/.exec(raw.trim());
  const failures = match ? Number(match[1]) : 0;
  if (!match || failures < 1)
    fail(variable, `must look like 5/15m (failures per window), got ${JSON.stringify(raw)}`);
  return { failures, windowMs: parseDuration(match[2]!, variable) };
}
