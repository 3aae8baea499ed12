import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';
import { type Env, loadConfig } from '../../packages/server/src/server/boot/config.js';
import { TEST_SECRET } from '../support/server.js';

const SECOND_SECRET = 'gb0LG04N38lsnux9tQo04dq3Y8r207SKLcsPDmlsxQU';
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloakroom-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const base = (): Env => ({ CLOAKROOM_DATA_DIR: dir, CLOAKROOM_SECRETS: TEST_SECRET });

/** The ConfigError loadConfig throws for `env`. */
function errorOf(env: Env): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig: every bad value is one line naming the variable', () => {
  const cases: Array<[string, Env, string]> = [
    ['PORT=abc', { PORT: 'abc' }, 'PORT'],
    ['PORT=99999', { PORT: '99999' }, 'PORT'],
    ['PORT=-1', { PORT: '-1' }, 'PORT'],
    ['PORT=3000.5', { PORT: '3000.5' }, 'PORT'],
    ['CLOAKROOM_IDLE_TIMEOUT=5x', { CLOAKROOM_IDLE_TIMEOUT: '5x' }, 'CLOAKROOM_IDLE_TIMEOUT'],
    ['CLOAKROOM_IDLE_TIMEOUT=0', { CLOAKROOM_IDLE_TIMEOUT: '0' }, 'CLOAKROOM_IDLE_TIMEOUT'],
    ['CLOAKROOM_ABSOLUTE_TIMEOUT=-5m', { CLOAKROOM_ABSOLUTE_TIMEOUT: '-5m' }, 'CLOAKROOM_ABSOLUTE_TIMEOUT'],
    ['CLOAKROOM_REMEMBER_TIMEOUT=1w', { CLOAKROOM_REMEMBER_TIMEOUT: '1w' }, 'CLOAKROOM_REMEMBER_TIMEOUT'],
    ['CLOAKROOM_TOUCH_INTERVAL=soon', { CLOAKROOM_TOUCH_INTERVAL: 'soon' }, 'CLOAKROOM_TOUCH_INTERVAL'],
    [
      'an idle timeout longer than the absolute one',
      { CLOAKROOM_IDLE_TIMEOUT: '13h', CLOAKROOM_ABSOLUTE_TIMEOUT: '12h' },
      'CLOAKROOM_IDLE_TIMEOUT',
    ],
    [
      'a remember idle timeout longer than the remember lifetime',
      { CLOAKROOM_REMEMBER_IDLE_TIMEOUT: '31d' },
      'CLOAKROOM_REMEMBER_IDLE_TIMEOUT',
    ],
    [
      'a touch interval not shorter than the idle timeout',
      { CLOAKROOM_TOUCH_INTERVAL: '30m' },
      'CLOAKROOM_TOUCH_INTERVAL',
    ],
    ['CLOAKROOM_COOKIE_SAMESITE=none', { CLOAKROOM_COOKIE_SAMESITE: 'none' }, 'CLOAKROOM_COOKIE_SAMESITE'],
    ['CLOAKROOM_COOKIE_SECURE=maybe', { CLOAKROOM_COOKIE_SECURE: 'maybe' }, 'CLOAKROOM_COOKIE_SECURE'],
    ['CLOAKROOM_TRUST_PROXY=yes', { CLOAKROOM_TRUST_PROXY: 'yes' }, 'CLOAKROOM_TRUST_PROXY'],
    ['CLOAKROOM_TRUSTED_ORIGINS=*', { CLOAKROOM_TRUSTED_ORIGINS: '*' }, 'CLOAKROOM_TRUSTED_ORIGINS'],
    [
      'a wildcard trusted origin',
      { CLOAKROOM_TRUSTED_ORIGINS: 'https://*.example.com' },
      'CLOAKROOM_TRUSTED_ORIGINS',
    ],
    [
      'a trusted origin with a path',
      { CLOAKROOM_TRUSTED_ORIGINS: 'https://app.example.com/login' },
      'CLOAKROOM_TRUSTED_ORIGINS',
    ],
    ['CLOAKROOM_ADMIN_USER without a password', { CLOAKROOM_ADMIN_USER: 'root' }, 'CLOAKROOM_ADMIN_PASSWORD'],
    [
      'CLOAKROOM_ADMIN_PASSWORD without a user',
      { CLOAKROOM_ADMIN_PASSWORD: 'long password' },
      'CLOAKROOM_ADMIN_USER',
    ],
    ['HOST=999.1.1.1', { HOST: '999.1.1.1' }, 'HOST'],
    ['HOST=1.2.3', { HOST: '1.2.3' }, 'HOST'],
    ['HOST with a space', { HOST: '127.0.0.1 ' }, 'HOST'],
    [
      'CLOAKROOM_ADMIN_PASSWORD shorter than the policy allows',
      { CLOAKROOM_ADMIN_USER: 'root', CLOAKROOM_ADMIN_PASSWORD: 'seven77' },
      'CLOAKROOM_ADMIN_PASSWORD',
    ],
    [
      'CLOAKROOM_ADMIN_PASSWORD over 1,024 bytes',
      { CLOAKROOM_ADMIN_USER: 'root', CLOAKROOM_ADMIN_PASSWORD: 'é'.repeat(513) },
      'CLOAKROOM_ADMIN_PASSWORD',
    ],
    [
      'CLOAKROOM_ADMIN_USER with a control character',
      { CLOAKROOM_ADMIN_USER: 'ro\u0000ot', CLOAKROOM_ADMIN_PASSWORD: 'a long admin password' },
      'CLOAKROOM_ADMIN_USER',
    ],
    [
      'CLOAKROOM_ADMIN_USER of only spaces',
      { CLOAKROOM_ADMIN_USER: '   ', CLOAKROOM_ADMIN_PASSWORD: 'a long admin password' },
      'CLOAKROOM_ADMIN_USER',
    ],
    [
      'CLOAKROOM_ADMIN_USER over 64 characters',
      { CLOAKROOM_ADMIN_USER: 'r'.repeat(65), CLOAKROOM_ADMIN_PASSWORD: 'a long admin password' },
      'CLOAKROOM_ADMIN_USER',
    ],
    ['CLOAKROOM_THROTTLE_ACCOUNT=abc', { CLOAKROOM_THROTTLE_ACCOUNT: 'abc' }, 'CLOAKROOM_THROTTLE_ACCOUNT'],
    [
      'CLOAKROOM_THROTTLE_ACCOUNT=0/15m',
      { CLOAKROOM_THROTTLE_ACCOUNT: '0/15m' },
      'CLOAKROOM_THROTTLE_ACCOUNT',
    ],
    ['CLOAKROOM_THROTTLE_IP=5/forever', { CLOAKROOM_THROTTLE_IP: '5/forever' }, 'CLOAKROOM_THROTTLE_IP'],
    ['LOG_LEVEL=verbose', { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    ['LOG_FORMAT=text', { LOG_FORMAT: 'text' }, 'LOG_FORMAT'],
    ['CLOAKROOM_STORE_TIMEOUT=0', { CLOAKROOM_STORE_TIMEOUT: '0' }, 'CLOAKROOM_STORE_TIMEOUT'],
    ['CLOAKROOM_STORE_TIMEOUT=5m (over 60s)', { CLOAKROOM_STORE_TIMEOUT: '5m' }, 'CLOAKROOM_STORE_TIMEOUT'],
    ['REDIS_URL that is not a URL', { REDIS_URL: 'not a url' }, 'REDIS_URL'],
    // Unbounded durations started, then GET /api/session failed with 500 (RangeError: Invalid
    // time value in toISOString). Browsers cap cookie lifetimes at 400 days (RFC 6265bis §5.5).
    [
      'CLOAKROOM_ABSOLUTE_TIMEOUT=999999999d',
      { CLOAKROOM_ABSOLUTE_TIMEOUT: '999999999d' },
      'CLOAKROOM_ABSOLUTE_TIMEOUT',
    ],
    [
      'CLOAKROOM_IDLE_TIMEOUT=401d',
      { CLOAKROOM_IDLE_TIMEOUT: '401d', CLOAKROOM_ABSOLUTE_TIMEOUT: '401d' },
      'CLOAKROOM_IDLE_TIMEOUT',
    ],
    ['CLOAKROOM_REMEMBER_TIMEOUT=401d', { CLOAKROOM_REMEMBER_TIMEOUT: '401d' }, 'CLOAKROOM_REMEMBER_TIMEOUT'],
    [
      'CLOAKROOM_REMEMBER_IDLE_TIMEOUT=34646400 (401 days in seconds)',
      { CLOAKROOM_REMEMBER_IDLE_TIMEOUT: '34646400' },
      'CLOAKROOM_REMEMBER_IDLE_TIMEOUT',
    ],
    [
      'CLOAKROOM_TOUCH_INTERVAL=9999999999999999999999h',
      { CLOAKROOM_TOUCH_INTERVAL: '9999999999999999999999h' },
      'CLOAKROOM_TOUCH_INTERVAL',
    ],
    ['CLOAKROOM_THROTTLE_IP=5/401d', { CLOAKROOM_THROTTLE_IP: '5/401d' }, 'CLOAKROOM_THROTTLE_IP'],
    ['DATABASE_URL with the wrong scheme', { DATABASE_URL: 'mysql://db/x' }, 'DATABASE_URL'],
  ];
  for (const [name, env, variable] of cases) {
    test(`${name} → ConfigError naming ${variable}`, () => {
      const error = errorOf({ ...base(), ...env });
      expect(error.option).toBe(variable);
      expect(error.message.startsWith(`${variable}: `)).toBe(true);
      expect(error.message).not.toContain('\n');
      expect(error.message.length).toBeLessThan(300);
    });
  }

  test('the message says what the variable accepts', () => {
    expect(errorOf({ ...base(), CLOAKROOM_COOKIE_SAMESITE: 'none' }).message).toMatch(/lax.*strict/);
    expect(errorOf({ ...base(), CLOAKROOM_COOKIE_SECURE: 'maybe' }).message).toMatch(/auto.*true.*false/);
    expect(errorOf({ ...base(), CLOAKROOM_IDLE_TIMEOUT: '5x' }).message).toMatch(/30m/);
    expect(errorOf({ ...base(), CLOAKROOM_THROTTLE_ACCOUNT: 'abc' }).message).toMatch(/5\/15m/);
  });

  test('a duration over 400 days says where the cap is; exactly 400 days is accepted', () => {
    expect(errorOf({ ...base(), CLOAKROOM_REMEMBER_TIMEOUT: '401d' }).message).toMatch(/at most 400d/);
    const config = loadConfig({
      ...base(),
      CLOAKROOM_IDLE_TIMEOUT: '400d',
      CLOAKROOM_ABSOLUTE_TIMEOUT: '34560000',
      CLOAKROOM_REMEMBER_TIMEOUT: '400d',
      CLOAKROOM_REMEMBER_IDLE_TIMEOUT: '9600h',
    });
    expect(config.absoluteTimeoutMs).toBe(400 * 86_400_000);
    expect(config.rememberIdleTimeoutMs).toBe(400 * 86_400_000);
  });

  test('an admin password is never echoed in its error', () => {
    const error = errorOf({ ...base(), CLOAKROOM_ADMIN_USER: 'root', CLOAKROOM_ADMIN_PASSWORD: 'hunt3r2' });
    expect(error.message).toMatch(/at least 8 characters/);
    expect(error.message).not.toContain('hunt3r2');
  });

  test('a data dir under a regular file, or that is one, names CLOAKROOM_DATA_DIR', () => {
    const file = join(dir, 'file');
    writeFileSync(file, '');
    for (const dataDir of [join(file, 'data'), join(file, 'a', 'b'), file]) {
      for (const env of [{ CLOAKROOM_SECRETS: TEST_SECRET }, {}]) {
        const error = errorOf({ ...env, CLOAKROOM_DATA_DIR: dataDir });
        expect(error.option).toBe('CLOAKROOM_DATA_DIR');
        expect(error.message).toMatch(/is a file, not a directory/);
      }
    }
  });

  test('with DATABASE_URL and a secret the data dir is not used, so it is not checked', () => {
    const file = join(dir, 'file');
    writeFileSync(file, '');
    const config = loadConfig({
      CLOAKROOM_DATA_DIR: join(file, 'data'),
      CLOAKROOM_SECRETS: TEST_SECRET,
      DATABASE_URL: 'postgres://db/x',
    });
    expect(config.databaseUrl).toBe('postgres://db/x');
  });

  test('HOST accepts addresses and host names', () => {
    for (const host of ['0.0.0.0', '::', '::1', 'localhost', 'cloakroom.internal', '10.0.0.7']) {
      expect(loadConfig({ ...base(), HOST: host }).host).toBe(host);
    }
  });

  test('a URL with credentials is never echoed in its error', () => {
    for (const env of [
      { REDIS_URL: 'http://user:hunter2-secret@redis:6379' },
      { DATABASE_URL: 'hunter2-secret' },
    ]) {
      const error = errorOf({ ...base(), ...env });
      expect(error.message).not.toContain('hunter2');
    }
  });
});

describe('loadConfig: secrets', () => {
  const weak: Array<[string, string]> = [
    ['16 bytes', 'abcdefghijklmnop'],
    ['a changeme placeholder', 'changeme-changeme-changeme-changeme'],
    ['one repeated character', 'a'.repeat(64)],
    ['a padded dictionary word', 'passwordpasswordpasswordpassword1'],
  ];
  for (const [name, secret] of weak) {
    test(`a weak CLOAKROOM_SECRETS (${name}) is refused without echoing it`, () => {
      const error = errorOf({ ...base(), CLOAKROOM_SECRETS: secret });
      expect(error.option).toBe('CLOAKROOM_SECRETS');
      expect(error.message).not.toContain(secret);
      expect(error.message).not.toContain(secret.slice(0, 8));
      expect(error.message).not.toContain('\n');
    });
  }

  test('a weak second secret is refused by position, and neither secret is echoed', () => {
    const error = errorOf({ ...base(), CLOAKROOM_SECRETS: `${TEST_SECRET},changeme` });
    expect(error.message).toMatch(/#2/);
    expect(error.message).not.toContain(TEST_SECRET);
    expect(error.message).not.toContain('changeme');
  });

  test('CLOAKROOM_SECRETS holds a comma-separated keyring, newest first', () => {
    const config = loadConfig({ ...base(), CLOAKROOM_SECRETS: ` ${TEST_SECRET} , ${SECOND_SECRET} ` });
    expect(config.secrets).toEqual([TEST_SECRET, SECOND_SECRET]);
    expect(config.secretsSource).toBe('CLOAKROOM_SECRETS');
  });

  test('NODE_ENV=production without secrets is refused, naming CLOAKROOM_SECRETS', () => {
    const error = errorOf({ NODE_ENV: 'production', CLOAKROOM_DATA_DIR: dir });
    expect(error.option).toBe('CLOAKROOM_SECRETS');
    expect(error.message).toMatch(/production/);
  });

  test('NODE_ENV=production ignores a development secret left in the data dir', () => {
    loadConfig({ CLOAKROOM_DATA_DIR: dir });
    expect(errorOf({ NODE_ENV: 'production', CLOAKROOM_DATA_DIR: dir }).option).toBe('CLOAKROOM_SECRETS');
  });

  test('NODE_ENV=production with a strong secret starts', () => {
    const config = loadConfig({ NODE_ENV: 'production', ...base() });
    expect(config.production).toBe(true);
  });

  test('CLOAKROOM_SECRETS_FILE pointing to a missing file is refused, naming the variable', () => {
    const error = errorOf({ CLOAKROOM_DATA_DIR: dir, CLOAKROOM_SECRETS_FILE: join(dir, 'missing') });
    expect(error.option).toBe('CLOAKROOM_SECRETS_FILE');
    expect(error.message).not.toContain('\n');
  });

  test('a secrets file with two secrets (newest first, comments and CRLF allowed) loads in order', () => {
    const file = join(dir, 'keyring');
    writeFileSync(file, `# rotated 2026-01\r\n${TEST_SECRET}\r\n\r\n${SECOND_SECRET}\r\n`);
    const config = loadConfig({
      NODE_ENV: 'production',
      CLOAKROOM_DATA_DIR: dir,
      CLOAKROOM_SECRETS_FILE: file,
    });
    expect(config.secrets).toEqual([TEST_SECRET, SECOND_SECRET]);
    expect(config.secretsSource).toBe('CLOAKROOM_SECRETS_FILE');
  });

  test('an empty or weak secrets file is refused without echoing its content', () => {
    const file = join(dir, 'keyring');
    writeFileSync(file, '\n# nothing here\n');
    expect(errorOf({ CLOAKROOM_DATA_DIR: dir, CLOAKROOM_SECRETS_FILE: file }).option).toBe(
      'CLOAKROOM_SECRETS_FILE',
    );
    writeFileSync(file, 'changeme-changeme-changeme-changeme\n');
    const error = errorOf({ CLOAKROOM_DATA_DIR: dir, CLOAKROOM_SECRETS_FILE: file });
    expect(error.option).toBe('CLOAKROOM_SECRETS_FILE');
    expect(error.message).not.toContain('changeme');
  });

  test('development without secrets: one secret is generated into DATA_DIR/secret (mode 0600) and reused', () => {
    const dataDir = join(dir, 'fresh', 'data');
    const first = loadConfig({ CLOAKROOM_DATA_DIR: dataDir });
    expect(first.secretsSource).toBe('generated');
    expect(first.secrets).toHaveLength(1);
    expect(first.secrets[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const file = join(dataDir, 'secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.secrets[0]);

    const second = loadConfig({ CLOAKROOM_DATA_DIR: dataDir });
    expect(second.secretsSource).toBe('data-dir');
    expect(second.secrets).toEqual(first.secrets);
  });

  test('a command that needs no secret does not generate one', () => {
    const config = loadConfig({ CLOAKROOM_DATA_DIR: dir }, { needSecrets: false });
    expect(config.secrets).toEqual([]);
    expect(() => statSync(join(dir, 'secret'))).toThrow();
  });
});

describe('loadConfig: defaults and accepted values', () => {
  test('the documented defaults', () => {
    const config = loadConfig(base());
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      production: false,
      dataDir: dir,
      redisUrl: null,
      databaseUrl: null,
      storeTimeoutMs: 2_000,
      idleTimeoutMs: 30 * 60_000,
      absoluteTimeoutMs: 12 * 3_600_000,
      rememberTimeoutMs: 30 * 86_400_000,
      rememberIdleTimeoutMs: 7 * 86_400_000,
      touchIntervalMs: 60_000,
      cookieSecure: 'auto',
      cookieSameSite: 'lax',
      trustedOrigins: [],
      trustProxy: false,
      admin: null,
      throttleAccount: { failures: 5, windowMs: 15 * 60_000 },
      throttleIp: { failures: 100, windowMs: 15 * 60_000 },
      logLevel: 'info',
      logFormat: 'auto',
    });
  });

  test('LOG_FORMAT: auto, json or pretty, in any case', () => {
    expect(loadConfig({ ...base(), LOG_FORMAT: 'JSON' }).logFormat).toBe('json');
    expect(loadConfig({ ...base(), LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(loadConfig({ ...base(), LOG_FORMAT: 'auto' }).logFormat).toBe('auto');
    expect(errorOf({ ...base(), LOG_FORMAT: 'text' }).message).toMatch(/auto, json, pretty/);
  });

  test('durations accept 90s, 30m, 12h, 30d and plain seconds', () => {
    const config = loadConfig({
      ...base(),
      CLOAKROOM_TOUCH_INTERVAL: '90s',
      CLOAKROOM_IDLE_TIMEOUT: '1800',
      CLOAKROOM_ABSOLUTE_TIMEOUT: '12h',
      CLOAKROOM_REMEMBER_TIMEOUT: '30d',
    });
    expect(config.touchIntervalMs).toBe(90_000);
    expect(config.idleTimeoutMs).toBe(1_800_000);
    expect(config.absoluteTimeoutMs).toBe(43_200_000);
    expect(config.rememberTimeoutMs).toBe(2_592_000_000);
  });

  test('choices are case-insensitive; trusted origins are normalised exact origins', () => {
    const config = loadConfig({
      ...base(),
      CLOAKROOM_COOKIE_SAMESITE: 'Strict',
      CLOAKROOM_COOKIE_SECURE: 'TRUE',
      CLOAKROOM_TRUST_PROXY: 'true',
      CLOAKROOM_TRUSTED_ORIGINS: 'https://app.example.com, http://localhost:5173',
      CLOAKROOM_THROTTLE_ACCOUNT: '3/1h',
      CLOAKROOM_ADMIN_USER: 'root',
      CLOAKROOM_ADMIN_PASSWORD: 'a long admin password',
      PORT: '0',
    });
    expect(config).toMatchObject({
      cookieSameSite: 'strict',
      cookieSecure: true,
      trustProxy: true,
      trustedOrigins: ['https://app.example.com', 'http://localhost:5173'],
      throttleAccount: { failures: 3, windowMs: 3_600_000 },
      admin: { username: 'root', password: 'a long admin password' },
      port: 0,
    });
  });
});
