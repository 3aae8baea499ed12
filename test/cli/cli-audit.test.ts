import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { type CliRun, linesOf, runCli } from '../support/cli-process.js';
import { jsonOf, type LogLine, startHarness, TEST_SECRET } from '../support/server.js';

// A change made from the terminal leaves the same trace as one made on the server: one JSON audit
// line on stderr per real transition, shaped like the server's log lines, naming `"by":"cli"`.
// Results go to stdout; a refusal is one `cloakroom: …` line and no audit line; a password
// never appears in either stream.

// Every step runs `node dist/cli/main.js` as its own process (1–2 s each on a busy machine).
vi.setConfig({ testTimeout: 90_000, hookTimeout: 60_000 });

const ADMIN_PASSWORD = 'admin harbour lantern';
const BOB_PASSWORD = 'violet harbour lantern';
const BOB_NEW_PASSWORD = 'amber lighthouse keeper';

type Event =
  | 'user.created'
  | 'password.reset'
  | 'role.changed'
  | 'user.locked'
  | 'user.unlocked'
  | 'sessions.revoked'
  | 'session.revoked';

/**
 * The top-level keys of each event's line as the server writes it, for the same action taken
 * by an admin over the JSON API (or, for `session.revoked`, by the user).
 */
const serverKeys = new Map<Event, string[]>();

beforeAll(async () => {
  const h = await startHarness();
  try {
    const admin = await h.login('alice');
    const as = (path: string, init: { method?: string; json?: unknown } = {}) =>
      h.fetch(path, { cookie: admin.cookie, csrf: admin.csrf, ...init });
    const created = await as('/api/admin/users', { json: { username: 'carol', password: BOB_PASSWORD } });
    expect(created.status).toBe(201);
    const { user } = await jsonOf<{ user: { id: string } }>(created);
    const path = `/api/admin/users/${user.id}`;
    expect((await as(`${path}/password`, { json: { password: BOB_NEW_PASSWORD } })).status).toBe(200);
    expect((await as(path, { method: 'PATCH', json: { roles: ['ops'] } })).status).toBe(200);
    expect((await as(path, { method: 'PATCH', json: { locked: true } })).status).toBe(200);
    expect((await as(path, { method: 'PATCH', json: { locked: false } })).status).toBe(200);
    expect((await as(`${path}/revoke-sessions`, { method: 'POST' })).status).toBe(200);
    const carol = await h.login('carol', BOB_NEW_PASSWORD);
    const sessions = await jsonOf<{ sessions: Array<{ id: string }> }>(
      await h.fetch('/api/sessions', { cookie: carol.cookie }),
    );
    const own = sessions.sessions[0]?.id ?? '';
    const revoked = await h.fetch(`/api/sessions/${own}`, {
      method: 'DELETE',
      cookie: carol.cookie,
      csrf: carol.csrf,
    });
    expect(revoked.status).toBe(204);
    for (const line of h.logs) {
      const event = line.event as Event | undefined;
      if (event && !serverKeys.has(event)) serverKeys.set(event, Object.keys(line).sort());
    }
  } finally {
    await h.close();
  }
});

let dir: string;
let env: Record<string, string>;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloakroom-cli-audit-'));
  env = { CLOAKROOM_DATA_DIR: dir, CLOAKROOM_SECRETS: TEST_SECRET };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[], input?: string) =>
  runCli(args, { env, ...(input === undefined ? {} : { input }) });

/** The lines of a stream that parse as JSON objects. */
const jsonLines = (text: string): LogLine[] =>
  linesOf(text).flatMap((line) => {
    try {
      const value = JSON.parse(line) as unknown;
      return typeof value === 'object' && value !== null ? [value as LogLine] : [];
    } catch {
      return [];
    }
  });

/**
 * Exit 0, and stderr is exactly one line: the audit event, with exactly `fields` besides the
 * server's standard keys (and the same key set as the server's line for this event). Returns
 * stdout.
 */
function expectEvent(run: CliRun, event: Event, fields: Record<string, unknown>): string {
  expect(run.code, run.stderr).toBe(0);
  expect(linesOf(run.stderr)).toHaveLength(1);
  const [line] = jsonLines(run.stderr);
  expect(line, run.stderr).toBeDefined();
  const { time, ...rest } = line as LogLine & { time?: unknown };
  expect(rest).toEqual({ level: 'info', service: 'cloakroom', event, msg: event, ...fields });
  expect(String(time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(Object.keys(line ?? {}).sort()).toEqual(serverKeys.get(event));
  expect(run.stdout).not.toBe('');
  expect(jsonLines(run.stdout)).toEqual([]);
  return run.stdout;
}

/** Exit 1, one `cloakroom: …` line on stderr matching `message`, no audit line, nothing on stdout. */
function expectRefused(run: CliRun, message: RegExp): void {
  expect(run.code, run.stderr).toBe(1);
  expect(linesOf(run.stderr)).toHaveLength(1);
  expect(run.stderr).toMatch(/^cloakroom: /);
  expect(run.stderr).toMatch(message);
  expect(jsonLines(run.stderr)).toEqual([]);
  expect(run.stdout).toBe('');
}

/** Exit 0, a result on stdout, and nothing on stderr: no event for a change that changed nothing. */
function expectNoEvent(run: CliRun): void {
  expect(run.code, run.stderr).toBe(0);
  expect(run.stderr).toBe('');
  expect(run.stdout).not.toBe('');
}

async function idOf(username: string): Promise<string> {
  const run = await cli(['user', 'list', '--json']);
  expect(run.code, run.stderr).toBe(0);
  const user = (JSON.parse(run.stdout) as Array<{ id: string; username: string }>).find(
    (u) => u.username === username,
  );
  if (!user) throw new Error(`no user ${username}`);
  return user.id;
}

/** Signs `username` in `times` times on a server over the CLI's data dir, then stops it. */
async function signIn(username: string, password: string, times: number): Promise<void> {
  const h = await startHarness({ dataDir: dir, users: false });
  try {
    for (let i = 0; i < times; i++) await h.login(username, password);
  } finally {
    await h.close();
  }
}

describe('each account command writes its audit event to stderr, with by: "cli"', () => {
  test('user add: user.created {userId, username, roles, by}; the password appears nowhere', async () => {
    // Both first, so that a failed check on alice's line leaves the later steps their users.
    const alice = await cli(['user', 'add', 'alice', '--role', 'admin', '--password-stdin'], ADMIN_PASSWORD);
    const bob = await cli(['user', 'add', 'bob', '--password-stdin'], BOB_PASSWORD);
    expectEvent(alice, 'user.created', {
      userId: await idOf('alice'),
      username: 'alice',
      roles: ['admin'],
      by: 'cli',
    });
    expectEvent(bob, 'user.created', { userId: await idOf('bob'), username: 'bob', roles: [], by: 'cli' });
    for (const run of [alice, bob]) {
      expect(run.stdout + run.stderr).not.toContain(ADMIN_PASSWORD);
      expect(run.stdout + run.stderr).not.toContain(BOB_PASSWORD);
    }
  });

  test('user passwd: password.reset {userId, revokedSessions, by}; the password appears nowhere', async () => {
    await signIn('bob', BOB_PASSWORD, 2);
    const run = await cli(['user', 'passwd', 'bob', '--password-stdin'], BOB_NEW_PASSWORD);
    expectEvent(run, 'password.reset', { userId: await idOf('bob'), revokedSessions: 2, by: 'cli' });
    expect(run.stdout + run.stderr).not.toContain(BOB_NEW_PASSWORD);
  });

  test('user role --add: role.changed {userId, from, to, by}', async () => {
    const run = await cli(['user', 'role', 'bob', '--add', 'ops']);
    expectEvent(run, 'role.changed', { userId: await idOf('bob'), from: [], to: ['ops'], by: 'cli' });
  });

  test('user lock: user.locked {userId, revokedSessions, by}', async () => {
    await signIn('bob', BOB_NEW_PASSWORD, 2);
    const run = await cli(['user', 'lock', 'bob']);
    expectEvent(run, 'user.locked', { userId: await idOf('bob'), revokedSessions: 2, by: 'cli' });
  });

  test('user unlock: user.unlocked {userId, by}', async () => {
    const run = await cli(['user', 'unlock', 'bob']);
    expectEvent(run, 'user.unlocked', { userId: await idOf('bob'), by: 'cli' });
  });

  test('sessions revoke --user: sessions.revoked {userId, count, by}', async () => {
    await signIn('bob', BOB_NEW_PASSWORD, 2);
    const run = await cli(['sessions', 'revoke', '--user', 'bob']);
    expectEvent(run, 'sessions.revoked', { userId: await idOf('bob'), count: 2, by: 'cli' });
  });

  test('sessions revoke ID: session.revoked {userId, session, by}', async () => {
    await signIn('bob', BOB_NEW_PASSWORD, 1);
    const list = await cli(['sessions', 'list', 'bob', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const [session] = JSON.parse(list.stdout) as Array<{ id: string }>;
    if (!session) throw new Error('bob has no session to revoke');
    const run = await cli(['sessions', 'revoke', session.id]);
    expectEvent(run, 'session.revoked', { userId: await idOf('bob'), session: session.id, by: 'cli' });
  });
});

describe('a refused change writes one cloakroom: line and no audit line', () => {
  test('locking the last unlocked admin', async () => {
    expectRefused(await cli(['user', 'lock', 'alice']), /^cloakroom: refusing to lock alice: /);
  });

  test('user add of a look-alike of an existing username (Cyrillic а in аlice): exit 1 with the message', async () => {
    expectRefused(
      await cli(['user', 'add', '\u0430lice', '--password-stdin'], BOB_PASSWORD),
      /^cloakroom: That username looks too much like an existing one; choose a clearly different name\n$/,
    );
  });

  test('user add with a common password: exit 1 with the message, the password not echoed', async () => {
    const run = await cli(['user', 'add', 'carol', '--password-stdin'], 'password123');
    expectRefused(run, /is one of the most commonly used passwords/);
    expect(run.stderr).not.toContain('password123');
  });

  test('user passwd with a common password: exit 1 with the message, the password not echoed', async () => {
    const run = await cli(['user', 'passwd', 'bob', '--password-stdin'], 'qwertyuiop');
    expectRefused(run, /is one of the most commonly used passwords/);
    expect(run.stderr).not.toContain('qwertyuiop');
  });

  test('none of them changed anything', async () => {
    const run = await cli(['user', 'list', '--json']);
    const users = JSON.parse(run.stdout) as Array<{ username: string; roles: string[]; locked: boolean }>;
    const rows = users.map(({ username, roles, locked }) => ({ username, roles, locked }));
    expect(rows.sort((a, b) => a.username.localeCompare(b.username))).toEqual([
      { username: 'alice', roles: ['admin'], locked: false },
      { username: 'bob', roles: ['ops'], locked: false },
    ]);
    await signIn('bob', BOB_NEW_PASSWORD, 1);
  });
});

describe('a change that changes nothing writes no event', () => {
  test('locking a locked user', async () => {
    expectEvent(await cli(['user', 'lock', 'bob']), 'user.locked', {
      userId: await idOf('bob'),
      revokedSessions: 1,
      by: 'cli',
    });
    const again = await cli(['user', 'lock', 'bob']);
    expectNoEvent(again);
    expect(again.stdout).toMatch(/bob was already locked/);
  });

  test('unlocking an unlocked user', async () => {
    expectEvent(await cli(['user', 'unlock', 'bob']), 'user.unlocked', {
      userId: await idOf('bob'),
      by: 'cli',
    });
    expectNoEvent(await cli(['user', 'unlock', 'bob']));
  });

  test('adding a role the user has', async () => {
    expectNoEvent(await cli(['user', 'role', 'bob', '--add', 'ops']));
  });
});
