// The server keeps sessions and users in a read cache (the SQLite store's), yet a change made by
// another process on the same file — the CLI here — is refused on the very next request that
// starts after the CLI exited. Each check first proves the answer came from the cache (the
// hit counter of /metrics moved), or it would pass without one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../support/cli-process.js';
import { apiLogin, type ServerProcess, startServerProcess } from '../support/server-process.js';

const PASSWORD = 'correct horse battery staple 42';
let dataDir: string;
let server: ServerProcess;
let env: Record<string, string>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-cache-coherence-'));
  env = {
    CLOAKROOM_DATA_DIR: dataDir,
    CLOAKROOM_SECRETS: 'Qm9x7c2JrZ0d1bWRpY3RhdGVzLXJhbmRvbS1zZWNyZXQ',
    CLOAKROOM_ADMIN_USER: 'root',
    CLOAKROOM_ADMIN_PASSWORD: PASSWORD,
  };
  server = await startServerProcess(env);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Runs the CLI on the server's data directory and checks it succeeded. */
async function cli(...args: string[]): Promise<void> {
  const run = await runCli(args, args.includes('--password-stdin') ? { env, input: PASSWORD } : { env });
  expect(run.code, run.stderr).toBe(0);
}

async function cacheHits(cache: 'sessions' | 'users'): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`cloakroom_cache_hits_total{store="sqlite",cache="${cache}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

const verify = async (cookie: string, query = '') =>
  (await fetch(`${server.url}/auth/verify${query}`, { headers: { cookie } })).status;

/** Three answers from a warm cache: the hit counters of both caches move. */
async function warm(cookie: string, query = ''): Promise<void> {
  const before = [await cacheHits('sessions'), await cacheHits('users')];
  for (let i = 0; i < 3; i++) expect(await verify(cookie, query)).toBe(200);
  expect(await cacheHits('sessions')).toBeGreaterThan(before[0]!);
  expect(await cacheHits('users')).toBeGreaterThan(before[1]!);
}

describe('server read cache: a change from the CLI in another process applies on the next request', () => {
  test('the metrics show the caches and their bound', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^cloakroom_cache_max_entries\{store="sqlite",cache="sessions"\} 10000$/m);
    expect(text).toMatch(/^cloakroom_cache_entries\{store="sqlite",cache="users"\} \d+$/m);
  });

  test('role added and removed by the CLI', async () => {
    const { cookie } = await apiLogin(server.url, 'root', PASSWORD);
    await warm(cookie);
    expect(await verify(cookie, '?role=auditor')).toBe(403);
    await cli('user', 'role', 'root', '--add', 'auditor');
    expect(await verify(cookie, '?role=auditor')).toBe(200);
    await warm(cookie, '?role=auditor');
    await cli('user', 'role', 'root', '--remove', 'auditor');
    expect(await verify(cookie, '?role=auditor')).toBe(403);
  });

  test('a session revoked by the CLI', async () => {
    const { cookie } = await apiLogin(server.url, 'root', PASSWORD);
    await warm(cookie);
    await cli('sessions', 'revoke', '--user', 'root');
    expect(await verify(cookie)).toBe(401);
  });

  test('a password set by the CLI, and a lock', async () => {
    const { cookie } = await apiLogin(server.url, 'root', PASSWORD);
    await warm(cookie);
    await cli('user', 'passwd', 'root', '--password-stdin');
    expect(await verify(cookie)).toBe(401);

    await cli('user', 'add', 'second', '--role', 'admin', '--password-stdin');
    const second = await apiLogin(server.url, 'second', PASSWORD);
    expect(second.status).toBe(200);
    await warm(second.cookie);
    await cli('user', 'lock', 'second');
    expect(await verify(second.cookie)).toBe(401);
  });
});
