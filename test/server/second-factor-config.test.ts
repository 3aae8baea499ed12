import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';
import { type Env, loadConfig } from '../../packages/server/src/server/boot/config.js';
import { linesOf, runCli } from '../support/cli-process.js';
import { TEST_SECRET } from '../support/server.js';

// CLOAKROOM_REAUTH_WINDOW, CLOAKROOM_REQUIRE_2FA_ROLES and CLOAKROOM_PUBLIC_URL: defaults, what
// they accept, and one line naming the variable for anything else.
vi.setConfig({ testTimeout: 60_000 });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloakroom-2fa-config-'));
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

describe('defaults', () => {
  test('re-auth window 10 minutes, no role must enrol, no public URL', () => {
    const config = load({});
    expect(config.reauthWindowMs).toBe(600_000);
    expect(config.require2faRoles).toEqual([]);
    expect(config.publicUrl).toBeNull();
  });

  test('empty values count as unset', () => {
    const config = load({
      CLOAKROOM_REAUTH_WINDOW: '',
      CLOAKROOM_REQUIRE_2FA_ROLES: '',
      CLOAKROOM_PUBLIC_URL: '',
    });
    expect(config.reauthWindowMs).toBe(600_000);
    expect(config.require2faRoles).toEqual([]);
    expect(config.publicUrl).toBeNull();
  });
});

describe('accepted values', () => {
  test('CLOAKROOM_REAUTH_WINDOW is a duration up to 24h', () => {
    expect(load({ CLOAKROOM_REAUTH_WINDOW: '2s' }).reauthWindowMs).toBe(2_000);
    expect(load({ CLOAKROOM_REAUTH_WINDOW: '300' }).reauthWindowMs).toBe(300_000);
    expect(load({ CLOAKROOM_REAUTH_WINDOW: '24h' }).reauthWindowMs).toBe(86_400_000);
  });

  test('CLOAKROOM_REQUIRE_2FA_ROLES is a comma list of role names, normalised like roles', () => {
    expect(load({ CLOAKROOM_REQUIRE_2FA_ROLES: ' Admin , ops,,admin ' }).require2faRoles).toEqual([
      'admin',
      'ops',
    ]);
  });

  test('CLOAKROOM_PUBLIC_URL is kept as its origin (a trailing slash and default port dropped)', () => {
    expect(load({ CLOAKROOM_PUBLIC_URL: 'https://login.example.com/' }).publicUrl).toBe(
      'https://login.example.com',
    );
    expect(load({ CLOAKROOM_PUBLIC_URL: 'https://login.example.com:443' }).publicUrl).toBe(
      'https://login.example.com',
    );
    expect(load({ CLOAKROOM_PUBLIC_URL: 'http://127.0.0.1:3000' }).publicUrl).toBe('http://127.0.0.1:3000');
  });
});

describe('refused values name the variable in one line', () => {
  const cases: Array<[string, Env, string, RegExp]> = [
    [
      'a window that is not a duration',
      { CLOAKROOM_REAUTH_WINDOW: 'soon' },
      'CLOAKROOM_REAUTH_WINDOW',
      /30m/,
    ],
    ['a zero window', { CLOAKROOM_REAUTH_WINDOW: '0' }, 'CLOAKROOM_REAUTH_WINDOW', /positive/],
    ['a window over 24h', { CLOAKROOM_REAUTH_WINDOW: '25h' }, 'CLOAKROOM_REAUTH_WINDOW', /24h/],
    [
      'a role list with a bad name',
      { CLOAKROOM_REQUIRE_2FA_ROLES: 'admin;ops' },
      'CLOAKROOM_REQUIRE_2FA_ROLES',
      /role names/,
    ],
    [
      'a public URL that is not a URL',
      { CLOAKROOM_PUBLIC_URL: 'login.example.com' },
      'CLOAKROOM_PUBLIC_URL',
      /origin/,
    ],
    [
      'a public URL with a path',
      { CLOAKROOM_PUBLIC_URL: 'https://example.com/login' },
      'CLOAKROOM_PUBLIC_URL',
      /path/,
    ],
    [
      'a public URL with a query',
      { CLOAKROOM_PUBLIC_URL: 'https://example.com/?a=1' },
      'CLOAKROOM_PUBLIC_URL',
      /query/,
    ],
    [
      'a public URL with credentials',
      { CLOAKROOM_PUBLIC_URL: 'https://u:p@example.com' },
      'CLOAKROOM_PUBLIC_URL',
      /password/,
    ],
    [
      'a public URL of another scheme',
      { CLOAKROOM_PUBLIC_URL: 'ftp://example.com' },
      'CLOAKROOM_PUBLIC_URL',
      /https:\/\//,
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

  test('a public URL with credentials is not echoed', () => {
    expect(refusal({ CLOAKROOM_PUBLIC_URL: 'https://u:hunter22@example.com' }).message).not.toContain(
      'hunter22',
    );
  });

  test('`cloakroom serve` with a bad CLOAKROOM_REAUTH_WINDOW stops before listening, one line', async () => {
    const run = await runCli(['serve'], {
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        CLOAKROOM_DATA_DIR: join(dir, 'serve'),
        CLOAKROOM_SECRETS: TEST_SECRET,
        CLOAKROOM_REAUTH_WINDOW: '10 minutes',
      },
    });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(linesOf(run.stderr)).toEqual([
      'cloakroom: CLOAKROOM_REAUTH_WINDOW: must be a positive duration such as 90s, 30m, 12h, 30d or plain seconds',
    ]);
    expect(run.stdout).not.toMatch(/"event":"listening"/);
  });
});
