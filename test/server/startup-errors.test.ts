import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { type CliRun, linesOf, runCli } from '../support/cli-process.js';
import { TEST_SECRET } from '../support/server.js';

// Each case starts `cloakroom serve` as a real process and expects it to stop before listening.
vi.setConfig({ testTimeout: 60_000 });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloakroom-startup-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const freshDataDir = () => join(dir, `data-${n++}`);

const serve = (env: Record<string, string>) =>
  runCli(['serve'], {
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      CLOAKROOM_DATA_DIR: freshDataDir(),
      CLOAKROOM_SECRETS: TEST_SECRET,
      ...env,
    },
  });

/** Exit 1 with exactly one line, `cloakroom: VARIABLE: …`, and never "unexpected error". */
function expectRefusal(run: CliRun, variable: string): string {
  expect(run.code, run.stdout + run.stderr).toBe(1);
  expect(linesOf(run.stderr)).toHaveLength(1);
  expect(run.stderr).toMatch(new RegExp(`^cloakroom: ${variable}: `));
  expect(run.stderr).not.toMatch(/unexpected error/);
  expect(run.stdout).not.toMatch(/"event":"listening"/);
  return run.stderr;
}

describe('HOST', () => {
  test('a mistyped IPv4 address (999.1.1.1) names HOST (was: unexpected error: getaddrinfo ENOTFOUND)', async () => {
    expect(expectRefusal(await serve({ HOST: '999.1.1.1' }), 'HOST')).toContain('999.1.1.1');
  });

  test('a host name that does not resolve names HOST', async () => {
    expect(expectRefusal(await serve({ HOST: 'no-such-host.invalid' }), 'HOST')).toMatch(/does not resolve/);
  });

  test('an address this machine does not have names HOST (EADDRNOTAVAIL)', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to a real interface.
    expect(expectRefusal(await serve({ HOST: '192.0.2.1' }), 'HOST')).toMatch(
      /not an address of this machine/,
    );
  });
});

describe('PORT', () => {
  let taken: Server;
  let port: number;
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  test('a port in use names PORT (was: unexpected error: listen EADDRINUSE)', async () => {
    const message = expectRefusal(await serve({ PORT: String(port) }), 'PORT');
    expect(message).toMatch(/already in use/);
    expect(message).toContain(String(port));
  });
});

describe('CLOAKROOM_DATA_DIR', () => {
  test('under a regular file names CLOAKROOM_DATA_DIR (was: unexpected error: ENOTDIR), with or without a secret', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory\n');
    for (const env of [{}, { CLOAKROOM_SECRETS: '' }]) {
      const run = await serve({ CLOAKROOM_DATA_DIR: join(file, 'data'), ...env });
      expect(expectRefusal(run, 'CLOAKROOM_DATA_DIR')).toMatch(/is a file, not a directory/);
    }
  });

  test('a data dir that is itself a file names CLOAKROOM_DATA_DIR', async () => {
    const file = join(dir, 'another-file');
    writeFileSync(file, '');
    expectRefusal(await serve({ CLOAKROOM_DATA_DIR: file }), 'CLOAKROOM_DATA_DIR');
  });
});

describe('CLOAKROOM_ADMIN_USER / CLOAKROOM_ADMIN_PASSWORD', () => {
  test('a password the policy refuses names CLOAKROOM_ADMIN_PASSWORD, without echoing it, before any database is made', async () => {
    const dataDir = freshDataDir();
    const run = await serve({
      CLOAKROOM_DATA_DIR: dataDir,
      CLOAKROOM_ADMIN_USER: 'root',
      CLOAKROOM_ADMIN_PASSWORD: 'short7!',
    });
    expect(expectRefusal(run, 'CLOAKROOM_ADMIN_PASSWORD')).toMatch(/at least 8 characters/);
    expect(run.stdout + run.stderr).not.toContain('short7!');
    expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([]);
  });

  test('a username the rules refuse names CLOAKROOM_ADMIN_USER', async () => {
    for (const user of ['root\u0007', '\u200B', 'x'.repeat(65)]) {
      const run = await serve({
        CLOAKROOM_ADMIN_USER: user,
        CLOAKROOM_ADMIN_PASSWORD: 'a long admin password',
      });
      expectRefusal(run, 'CLOAKROOM_ADMIN_USER');
    }
  });

  test('the variables are checked on every start, not only when the database is empty', async () => {
    const dataDir = freshDataDir();
    const env = { CLOAKROOM_DATA_DIR: dataDir, CLOAKROOM_SECRETS: TEST_SECRET };
    const add = await runCli(['user', 'add', 'alice', '--password-stdin'], {
      env,
      input: 'velvet harbour 1',
    });
    expect(add.code, add.stderr).toBe(0);
    const run = await serve({ ...env, CLOAKROOM_ADMIN_USER: 'root', CLOAKROOM_ADMIN_PASSWORD: 'x' });
    expectRefusal(run, 'CLOAKROOM_ADMIN_PASSWORD');
  });
});

describe('durations', () => {
  test('CLOAKROOM_ABSOLUTE_TIMEOUT=999999999d names the variable (was: started, then 500 on GET /api/session)', async () => {
    const message = expectRefusal(
      await serve({ CLOAKROOM_ABSOLUTE_TIMEOUT: '999999999d' }),
      'CLOAKROOM_ABSOLUTE_TIMEOUT',
    );
    expect(message).toMatch(/at most 400d/);
  });
});
