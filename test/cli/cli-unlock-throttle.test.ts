import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { runCli } from '../support/cli-process.js';
import { apiLogin, type ServerProcess, startServerProcess } from '../support/server-process.js';
import {
  freePort,
  type PostgresDatabase,
  type RedisProcess,
  requirePostgres,
  startRedisServer,
} from '../support/services.js';

// A server process and CLI processes on the same stores, for each place the throttle counters
// can live: the SQLite file, Redis (REDIS_URL), PostgreSQL (DATABASE_URL).
vi.setConfig({ testTimeout: 90_000, hookTimeout: 60_000 });

const PASSWORD = 'the right password';
const NEW_PASSWORD = 'a new right password';

let redis: RedisProcess;
let db: PostgresDatabase;
const dirs: string[] = [];
beforeAll(async () => {
  // A Redis of its own: the server and the CLI use the default key prefix.
  [redis, db] = await Promise.all([freePort().then((port) => startRedisServer(port)), requirePostgres()]);
});
afterAll(async () => {
  await redis?.kill();
  await db?.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const backends: Array<[string, () => Record<string, string>]> = [
  ['SQLite', () => ({})],
  ['Redis', () => ({ REDIS_URL: `redis://127.0.0.1:${redis.port}` })],
  ['PostgreSQL', () => ({ DATABASE_URL: db.url })],
];

describe.each(backends)('counters in %s', (_name, extra) => {
  let env: Record<string, string>;
  let server: ServerProcess;
  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-cli-throttle-'));
    dirs.push(dataDir);
    env = { CLOAKROOM_DATA_DIR: dataDir, ...extra() };
    server = await startServerProcess(env);
  });
  afterAll(async () => server?.stop());

  const cli = (args: string[], input?: string) => runCli(args, { env, ...(input ? { input } : {}) });

  /** Five wrong passwords (the default limit), then the right one is refused with 429. */
  async function lockOut(username: string, password: string): Promise<void> {
    for (let i = 0; i < 5; i++) expect((await apiLogin(server.url, username, `wrong ${i}`)).status).toBe(401);
    expect((await apiLogin(server.url, username, password)).status).toBe(429);
  }

  test('user unlock lifts a running sign-in lockout; the running server lets the user in at once', async () => {
    const user = `dave-${_name.toLowerCase()}`;
    const add = await cli(['user', 'add', user, '--password-stdin'], PASSWORD);
    expect(add.code, add.stderr).toBe(0);
    await lockOut(user, PASSWORD);
    const unlock = await cli(['user', 'unlock', user]);
    expect(unlock.code, unlock.stderr).toBe(0);
    expect(unlock.stdout).toBe(`unlocked ${user}; its sign-in lockout is lifted\n`);
    expect((await apiLogin(server.url, user, PASSWORD)).status).toBe(200);
    // Nothing was running any more: the answer says so.
    expect((await cli(['user', 'unlock', user])).stdout).toBe(
      `unlocked ${user}; its failed sign-in count is reset\n`,
    );
  });

  test('user passwd lifts it too, and the new password signs in at once', async () => {
    const user = `erin-${_name.toLowerCase()}`;
    expect((await cli(['user', 'add', user, '--password-stdin'], PASSWORD)).code).toBe(0);
    await lockOut(user, PASSWORD);
    const passwd = await cli(['user', 'passwd', user, '--password-stdin'], NEW_PASSWORD);
    expect(passwd.code, passwd.stderr).toBe(0);
    expect(passwd.stdout).toMatch(/its sign-in lockout is lifted/);
    expect((await apiLogin(server.url, user, NEW_PASSWORD)).status).toBe(200);
  });

  test("the lockout escalation goes too: the next lockout is one window again, and other accounts' lockouts stay", async () => {
    const user = `finn-${_name.toLowerCase()}`;
    const other = `gail-${_name.toLowerCase()}`;
    for (const name of [user, other])
      expect((await cli(['user', 'add', name, '--password-stdin'], PASSWORD)).code).toBe(0);
    await lockOut(user, PASSWORD);
    await lockOut(other, PASSWORD);
    expect((await cli(['user', 'unlock', user])).code).toBe(0);
    expect((await apiLogin(server.url, other, PASSWORD)).status).toBe(429);
    await lockOut(user, PASSWORD);
    const retry = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: user, password: PASSWORD }),
    });
    expect(retry.status).toBe(429);
    // 15 minutes (the first lockout), not 30 (the second within a day).
    expect(Number(retry.headers.get('retry-after'))).toBeLessThanOrEqual(900);
  });
});
