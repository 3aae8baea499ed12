import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { linesOf, runCli } from '../support/cli-process.js';
import { TEST_SECRET } from '../support/server.js';

// Every step runs `node dist/cli/main.js` as its own process.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 60_000 });

const PASSWORD = 'cli safety password';
let dir: string;
let env: Record<string, string>;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloakroom-cli-safety-'));
  env = { CLOAKROOM_DATA_DIR: dir, CLOAKROOM_SECRETS: TEST_SECRET };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args, { env });
const add = (name: string, ...roles: string[]) =>
  runCli(['user', 'add', name, ...roles.flatMap((r) => ['--role', r]), '--password-stdin'], {
    env,
    input: PASSWORD,
  });

async function users(): Promise<Record<string, { roles: string[]; locked: boolean; updatedAt: string }>> {
  const run = await cli('user', 'list', '--json');
  expect(run.code).toBe(0);
  const rows = JSON.parse(run.stdout) as Array<{
    username: string;
    roles: string[];
    locked: boolean;
    updatedAt: string;
  }>;
  return Object.fromEntries(rows.map((r) => [r.username, r]));
}

async function expectRefused(args: string[], message: RegExp): Promise<void> {
  const run = await cli(...args);
  expect(run.code, args.join(' ')).toBe(1);
  expect(linesOf(run.stderr)).toHaveLength(1);
  expect(run.stderr).toMatch(/^cloakroom: /);
  expect(run.stderr).toMatch(message);
  expect(run.stdout).toBe('');
}

describe('the CLI never leaves the service without an unlocked admin', () => {
  test('the only admin: lock and --remove admin are refused (exit 1, one line), nothing changes', async () => {
    expect((await add('alice', 'admin', 'ops')).code).toBe(0);
    expect((await add('bob')).code).toBe(0);
    const before = await users();
    await expectRefused(
      ['user', 'lock', 'alice'],
      /refusing to lock alice: this would leave no unlocked admin/,
    );
    await expectRefused(
      ['user', 'role', 'alice', '--remove', 'admin'],
      /refusing to remove admin from alice: this would leave no unlocked admin/,
    );
    expect(await users()).toEqual(before);
    // Other changes to the last admin, and to anybody else, go through.
    expect((await cli('user', 'role', 'alice', '--remove', 'ops')).code).toBe(0);
    expect((await cli('user', 'lock', 'bob')).code).toBe(0);
    expect((await users()).alice).toMatchObject({ roles: ['admin'], locked: false });
  });

  test('with a second unlocked admin the first can be locked; then the second is the last one', async () => {
    expect((await add('carol', 'admin')).code).toBe(0);
    expect((await cli('user', 'lock', 'alice')).code).toBe(0);
    // A locked admin does not count: carol is now the only admin who can sign in.
    await expectRefused(['user', 'lock', 'carol'], /refusing to lock carol/);
    await expectRefused(
      ['user', 'role', 'carol', '--remove', 'admin'],
      /refusing to remove admin from carol/,
    );
    // The locked alice may lose the role: carol remains.
    expect((await cli('user', 'role', 'alice', '--remove', 'admin')).code).toBe(0);
    const now = await users();
    expect(now.alice).toMatchObject({ roles: [], locked: true });
    expect(now.carol).toMatchObject({ roles: ['admin'], locked: false });
  });

  test('locking an admin while another unlocked admin remains, and unlocking, go through', async () => {
    expect((await cli('user', 'role', 'alice', '--add', 'admin')).code).toBe(0);
    expect((await cli('user', 'unlock', 'alice')).code).toBe(0);
    expect((await cli('user', 'lock', 'carol')).code).toBe(0);
    expect((await cli('user', 'unlock', 'carol')).code).toBe(0);
    const now = await users();
    expect(now.alice).toMatchObject({ roles: ['admin'], locked: false });
    expect(now.carol).toMatchObject({ roles: ['admin'], locked: false });
  });
});

describe('user role NAME --remove R for a role the user lacks', () => {
  test('says so: exit 1, one line naming the role and the roles kept, nothing written', async () => {
    const before = (await users()).bob;
    const run = await cli('user', 'role', 'bob', '--remove', 'editor');
    expect(run.code).toBe(1);
    expect(linesOf(run.stderr)).toEqual(['cloakroom: bob does not have role "editor"; roles unchanged []']);
    expect((await users()).bob).toEqual(before);
  });
});

describe('user list --json (docs/cli.md)', () => {
  test('roles is an array and updatedAt is there', async () => {
    const carol = (await users()).carol;
    expect(carol?.roles).toEqual(['admin']);
    expect(carol?.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});
