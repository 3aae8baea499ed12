import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';
import { type Env, loadConfig } from '../../packages/server/src/server/boot/config.js';
import { linesOf, runCli } from '../support/cli-process.js';
import { startHarness, TEST_SECRET } from '../support/server.js';
import { startServerProcess } from '../support/server-process.js';

// CLOAKROOM_PASSKEYS (auto | on | off) and CLOAKROOM_PASSKEY_RP_ID: the relying party comes from
// CLOAKROOM_PUBLIC_URL (or http://localhost:PORT in development); `on` without a usable one stops
// start-up with one line naming the variable, `auto` turns passkeys off with one warning.
vi.setConfig({ testTimeout: 60_000 });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloakroom-passkey-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (env: Env) => loadConfig({ CLOAKROOM_DATA_DIR: dir, CLOAKROOM_SECRETS: TEST_SECRET, ...env });

function refusal(env: Env): ConfigError {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('the relying party', () => {
  test('development default: http://localhost:PORT, RP ID localhost (PORT 3000 unless set)', () => {
    expect(load({}).passkeys).toEqual({ origins: ['http://localhost:3000'], rpId: 'localhost' });
    expect(load({ PORT: '8080' }).passkeys).toEqual({
      origins: ['http://localhost:8080'],
      rpId: 'localhost',
    });
    expect(load({}).passkeysWarning).toBeNull();
  });

  test('CLOAKROOM_PUBLIC_URL is the origin; its host the RP ID', () => {
    expect(load({ CLOAKROOM_PUBLIC_URL: 'https://login.example.com/' }).passkeys).toEqual({
      origins: ['https://login.example.com'],
      rpId: 'login.example.com',
    });
    expect(load({ CLOAKROOM_PUBLIC_URL: 'https://login.example.com:8443' }).passkeys).toEqual({
      origins: ['https://login.example.com:8443'],
      rpId: 'login.example.com',
    });
    expect(load({ CLOAKROOM_PUBLIC_URL: 'http://localhost:4000', PORT: '0' }).passkeys).toEqual({
      origins: ['http://localhost:4000'],
      rpId: 'localhost',
    });
  });

  test('CLOAKROOM_PASSKEY_RP_ID may be the host or a parent domain of it (any case, trimmed)', () => {
    const url = { CLOAKROOM_PUBLIC_URL: 'https://login.eu.example.com', NODE_ENV: 'production' };
    expect(load({ ...url, CLOAKROOM_PASSKEY_RP_ID: ' Example.COM ' }).passkeys?.rpId).toBe('example.com');
    expect(load({ ...url, CLOAKROOM_PASSKEY_RP_ID: 'eu.example.com' }).passkeys?.rpId).toBe('eu.example.com');
    expect(load({ ...url, CLOAKROOM_PASSKEY_RP_ID: 'login.eu.example.com' }).passkeys?.rpId).toBe(
      'login.eu.example.com',
    );
  });

  test('CLOAKROOM_PASSKEYS=off: no relying party and no warning, whatever else is set', () => {
    for (const env of [{}, { NODE_ENV: 'production' }, { CLOAKROOM_PUBLIC_URL: 'http://10.0.0.1' }]) {
      const config = load({ ...env, CLOAKROOM_PASSKEYS: 'off' });
      expect(config.passkeys).toBeNull();
      expect(config.passkeysWarning).toBeNull();
    }
  });

  test('CLOAKROOM_PASSKEYS accepts auto, on, off in any case; empty is auto', () => {
    expect(load({ CLOAKROOM_PASSKEYS: 'ON' }).passkeys).not.toBeNull();
    expect(load({ CLOAKROOM_PASSKEYS: ' Off ' }).passkeys).toBeNull();
    expect(load({ CLOAKROOM_PASSKEYS: '' }).passkeys).not.toBeNull();
  });
});

describe('auto without a usable relying party: off, and one warning that says why', () => {
  const cases: Array<[string, Env, RegExp]> = [
    ['production without a public URL', { NODE_ENV: 'production' }, /not set \(NODE_ENV=production\)/],
    ['PORT=0 without a public URL', { PORT: '0' }, /PORT=0/],
    ['an http public URL on another host', { CLOAKROOM_PUBLIC_URL: 'http://login.example.com' }, /http:\/\//],
    ['a public URL on an IPv4 address', { CLOAKROOM_PUBLIC_URL: 'http://127.0.0.1:3000' }, /IP address/],
    ['a public URL on an IPv6 address', { CLOAKROOM_PUBLIC_URL: 'https://[::1]:3000' }, /IP address/],
  ];
  for (const [name, env, says] of cases) {
    test(name, () => {
      const config = load(env);
      expect(config.passkeys).toBeNull();
      expect(config.passkeysWarning).toMatch(/^passkeys are off: CLOAKROOM_PUBLIC_URL /);
      expect(config.passkeysWarning).toMatch(says);
      expect(config.passkeysWarning).toMatch(/CLOAKROOM_PASSKEYS=off/);
      expect(config.passkeysWarning).not.toContain('\n');
    });
  }
});

describe('refused values name the variable in one line', () => {
  const cases: Array<[string, Env, string, RegExp]> = [
    ['CLOAKROOM_PASSKEYS=yes', { CLOAKROOM_PASSKEYS: 'yes' }, 'CLOAKROOM_PASSKEYS', /auto, on, off/],
    [
      'on in production without a public URL',
      { CLOAKROOM_PASSKEYS: 'on', NODE_ENV: 'production' },
      'CLOAKROOM_PUBLIC_URL',
      /not set \(NODE_ENV=production\).*https:\/\/login\.example\.com/,
    ],
    [
      'on with PORT=0 and no public URL',
      { CLOAKROOM_PASSKEYS: 'on', PORT: '0' },
      'CLOAKROOM_PUBLIC_URL',
      /PORT=0/,
    ],
    [
      'on with an http public URL on another host',
      { CLOAKROOM_PASSKEYS: 'on', CLOAKROOM_PUBLIC_URL: 'http://login.example.com' },
      'CLOAKROOM_PUBLIC_URL',
      /http:\/\/ only for localhost/,
    ],
    [
      'on with a public URL on an IP address',
      { CLOAKROOM_PASSKEYS: 'on', CLOAKROOM_PUBLIC_URL: 'https://192.0.2.1' },
      'CLOAKROOM_PUBLIC_URL',
      /IP address/,
    ],
    [
      'an RP ID that is not a parent of the public host',
      { CLOAKROOM_PUBLIC_URL: 'https://login.example.com', CLOAKROOM_PASSKEY_RP_ID: 'example.org' },
      'CLOAKROOM_PASSKEY_RP_ID',
      /parent domain.*example\.com/,
    ],
    [
      'an RP ID that only ends like the host (evilexample.com is no parent of example.com)',
      { CLOAKROOM_PUBLIC_URL: 'https://example.com', CLOAKROOM_PASSKEY_RP_ID: 'ample.com' },
      'CLOAKROOM_PASSKEY_RP_ID',
      /parent domain/,
    ],
    [
      'an RP ID that is a top-level domain',
      { CLOAKROOM_PUBLIC_URL: 'https://login.example.com', CLOAKROOM_PASSKEY_RP_ID: 'com' },
      'CLOAKROOM_PASSKEY_RP_ID',
      /top-level/,
    ],
    [
      'an RP ID with a scheme',
      { CLOAKROOM_PUBLIC_URL: 'https://login.example.com', CLOAKROOM_PASSKEY_RP_ID: 'https://example.com' },
      'CLOAKROOM_PASSKEY_RP_ID',
      /domain name/,
    ],
    [
      'an RP ID with a port',
      { CLOAKROOM_PUBLIC_URL: 'https://login.example.com', CLOAKROOM_PASSKEY_RP_ID: 'example.com:443' },
      'CLOAKROOM_PASSKEY_RP_ID',
      /domain name/,
    ],
    [
      'an RP ID that is an IP address',
      { CLOAKROOM_PUBLIC_URL: 'https://login.example.com', CLOAKROOM_PASSKEY_RP_ID: '192.0.2.1' },
      'CLOAKROOM_PASSKEY_RP_ID',
      /IP address/,
    ],
    [
      'an RP ID with an empty label',
      { CLOAKROOM_PUBLIC_URL: 'https://login.example.com', CLOAKROOM_PASSKEY_RP_ID: 'example..com' },
      'CLOAKROOM_PASSKEY_RP_ID',
      /domain name/,
    ],
    [
      'a bad RP ID under auto too (set on purpose, so not silently ignored)',
      { CLOAKROOM_PASSKEY_RP_ID: 'not a domain' },
      'CLOAKROOM_PASSKEY_RP_ID',
      /domain name/,
    ],
  ];
  for (const [name, env, variable, says] of cases) {
    test(`${name} → ${variable}`, () => {
      const error = refusal(env);
      expect(error.option).toBe(variable);
      expect(error.message.startsWith(`${variable}: `)).toBe(true);
      expect(error.message).not.toContain('\n');
      expect(error.message).toMatch(says);
    });
  }
});

describe('at start-up', () => {
  test('`cloakroom serve` with CLOAKROOM_PASSKEYS=on and no usable relying party stops with one line', async () => {
    const run = await runCli(['serve'], {
      env: {
        NODE_ENV: 'production',
        PORT: '0',
        HOST: '127.0.0.1',
        CLOAKROOM_DATA_DIR: join(dir, 'serve-on'),
        CLOAKROOM_SECRETS: TEST_SECRET,
        CLOAKROOM_PASSKEYS: 'on',
      },
    });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(linesOf(run.stderr)).toEqual([
      'cloakroom: CLOAKROOM_PUBLIC_URL: is not set (NODE_ENV=production); passkeys (CLOAKROOM_PASSKEYS=on) need the https origin users sign in at, such as https://login.example.com (http:// only for localhost)',
    ]);
    expect(run.stdout).not.toMatch(/"event":"listening"/);
  });

  test('`cloakroom serve` with auto and no usable relying party starts and warns exactly once', async () => {
    const server = await startServerProcess({ NODE_ENV: 'production' });
    try {
      const warnings = server.logs.filter((l) => l.event === 'passkeys.off');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.level).toBe('warn');
      expect(String(warnings[0]?.msg)).toMatch(/^passkeys are off: CLOAKROOM_PUBLIC_URL is not set/);
      const options = await fetch(`${server.url}/api/login/passkey/options`, { method: 'POST' });
      expect(options.status).toBe(404);
    } finally {
      await server.stop();
    }
  });

  test('no warning when passkeys are on, nor when turned off on purpose', async () => {
    for (const env of [{ CLOAKROOM_PUBLIC_URL: 'http://localhost:4000' }, { CLOAKROOM_PASSKEYS: 'off' }]) {
      const h = await startHarness({ env, users: false });
      try {
        expect(h.logs.filter((l) => l.event === 'passkeys.off')).toEqual([]);
      } finally {
        await h.close();
      }
    }
  });
});
