import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { runCli } from '../support/cli-process.js';
import { requirePostgres } from '../support/services.js';

// What each CLI command loads, recorded in a fresh process by a `--import` hook
// (test/support/record-imports.mjs): a command loads what it needs, not the whole server.
// Start-up time itself is measured by bench/cli-start.mjs, not here.

vi.setConfig({ testTimeout: 90_000, hookTimeout: 120_000 });

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HOOK = pathToFileURL(join(ROOT, 'test', 'support', 'record-imports.mjs')).href;
const SERVER_DIST = pathToFileURL(join(ROOT, 'packages', 'server', 'dist')).href;
const LIBRARY_DIST = pathToFileURL(join(ROOT, 'packages', 'cloakroom', 'dist')).href;
const PASSWORD = 'cli imports password 1';

const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-cli-imports-'));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** The modules one CLI run loaded: npm packages by name, and files of the two packages' dist/. */
interface Loaded {
  stdout: string;
  packages: string[];
  server: string[];
  library: string[];
}

async function load(args: string[], env: Record<string, string>, input?: string): Promise<Loaded> {
  const log = join(tempDir(), 'imports.log');
  const run = await runCli(args, {
    env: { ...env, NODE_OPTIONS: `--import="${HOOK}"`, CLOAKROOM_IMPORT_LOG: log },
    ...(input === undefined ? {} : { input }),
  });
  expect(run.code, run.stderr).toBe(0);
  const urls = [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))];
  const packages = new Set<string>();
  for (const url of urls) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(url);
    if (match) packages.add(match[1]!);
  }
  const under = (root: string) =>
    urls.filter((u) => u.startsWith(`${root}/`)).map((u) => u.slice(root.length + 1));
  return {
    stdout: run.stdout,
    packages: [...packages].sort(),
    server: under(SERVER_DIST),
    library: under(LIBRARY_DIST),
  };
}

/** What no command that only reads may load: the HTTP server, its pages, logging, hashing, metrics. */
const SERVER_PACKAGES = ['hono', '@hono/node-server', 'pino', 'thread-stream', 'prom-client'];
const HASHERS = ['@node-rs/argon2', '@node-rs/bcrypt'];
const REDIS = ['redis', '@redis/client'];

/** The server's own modules a reading command must not load (dist/ paths). */
const serverModules = (loaded: Loaded) =>
  loaded.server.filter(
    (path) =>
      path === 'server/app.js' ||
      /^server\/(web|api)\//.test(path) ||
      /^server\/boot\/(serve|deps|listen|first-admin)\.js$/.test(path) ||
      path === 'server/http/logger.js' ||
      path === 'cli/serve.js',
  );

const nativeHasher = (loaded: Loaded) => loaded.packages.filter((p) => p.startsWith('@node-rs/'));

describe('what a CLI command loads', () => {
  test('secret new: node built-ins and the CLI entry alone, no package', async () => {
    const loaded = await load(['secret', 'new'], {});
    expect(loaded.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(loaded.packages).toEqual([]);
    expect(loaded.server.every((path) => path.startsWith('cli/'))).toBe(true);
    expect(loaded.server).not.toContain('cli/store.js');
    // Not a store, an adapter or the password hasher of the library either.
    expect(loaded.library.filter((path) => /^(stores|adapters)\/|passwords/.test(path))).toEqual([]);
  });

  test('user list on SQLite: the store, not the server, pino, a password hasher or Redis', async () => {
    const env = { CLOAKROOM_DATA_DIR: tempDir() };
    // The recorder sees modules loaded on demand: `user add` hashes, so it loads argon2 and pino.
    const added = await load(['user', 'add', 'alice', '--password-stdin'], env, `${PASSWORD}\n`);
    expect(added.packages).toEqual(expect.arrayContaining(['@node-rs/argon2', 'pino', 'better-sqlite3']));

    const listed = await load(['user', 'list'], env);
    expect(listed.stdout).toContain('alice');
    expect(listed.packages).toContain('better-sqlite3');
    expect(
      listed.packages.filter((p) => [...SERVER_PACKAGES, ...HASHERS, ...REDIS, 'pg'].includes(p)),
    ).toEqual([]);
    expect(nativeHasher(listed)).toEqual([]);
    expect(serverModules(listed)).toEqual([]);
    expect(
      listed.library.filter((path) => /^adapters\/|passwords|^stores\/(redis|postgres)\//.test(path)),
    ).toEqual([]);
  });

  test('user list on PostgreSQL: pg, not SQLite, Redis, the server, pino or a password hasher', async () => {
    const database = await requirePostgres();
    try {
      const env = { DATABASE_URL: database.url, CLOAKROOM_DATA_DIR: tempDir() };
      const listed = await load(['user', 'list', '--json'], env);
      expect(JSON.parse(listed.stdout)).toEqual([]);
      expect(listed.packages).toContain('pg');
      expect(
        listed.packages.filter((p) =>
          [...SERVER_PACKAGES, ...HASHERS, ...REDIS, 'better-sqlite3'].includes(p),
        ),
      ).toEqual([]);
      expect(nativeHasher(listed)).toEqual([]);
      expect(serverModules(listed)).toEqual([]);
    } finally {
      await database.drop();
    }
  });
});
