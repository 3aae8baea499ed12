import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { MIGRATIONS } from '../../packages/cloakroom/src/stores/postgres/index.js';
import { linesOf, runCli } from '../support/cli-process.js';
import { sessionCookieOf, TEST_SECRET } from '../support/server.js';
import { requirePostgres } from '../support/services.js';

// Every test spawns node processes (1–2 s each on a busy machine): generous limits.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 120_000 });

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'packages', 'server', 'dist', 'cli', 'main.js');
const PASSWORD = 'cli test password 1';
const NEW_PASSWORD = 'cli test password 2';
const ADMIN_PASSWORD = 'bootstrap admin password';

const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-cli-'));
  temps.push(dir);
  return dir;
}

/** A clean environment: nothing from the developer's shell leaks into the CLI under test. */
function envFor(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

/** Every child process a test started; afterEach kills the ones still alive. */
const running: ChildProcess[] = [];

/** Runs `node dist/cli/main.js ARGS` to completion (test/support/cli-process.ts). */
const cli = (args: string[], options: { env?: Record<string, string | undefined>; input?: string } = {}) =>
  runCli(args, options);

const lines = linesOf;

/** A `serve` child process whose JSON log lines are collected as they arrive. */
interface ServeProcess {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  logs: () => Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function serve(env: Record<string, string | undefined>): Promise<ServeProcess> {
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    cwd: tempDir(),
    env: envFor({ PORT: '0', HOST: '127.0.0.1', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal })),
  );
  const parsed = () =>
    lines(stdout).flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${stdout}\n${stderr}`)), 45_000);
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const listening = parsed().find((l) => l.event === 'listening');
      if (listening) {
        clearTimeout(timer);
        resolveUrl(String(listening.url));
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening:\n${stdout}\n${stderr}`));
    });
  });
  return { child, url, stdout: () => stdout, stderr: () => stderr, logs: parsed, exited };
}

beforeAll(() => {
  // dist/ is built once by the global setup (test/global-setup.ts); rebuilding here would race
  // other test files that run it. Build only when it is missing (e.g. another runner config).
  if (existsSync(MAIN)) return;
  try {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  } catch (error) {
    if (!existsSync(MAIN)) throw error;
    const out = String((error as { stdout?: Buffer }).stdout ?? '');
    console.warn(`tsc reported errors; testing the emitted dist anyway:\n${out.slice(0, 2000)}`);
  }
}, 120_000);

afterEach(() => {
  for (const child of running.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

afterAll(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('cloakroom secret new', () => {
  test('prints a fresh 43-character base64url secret, different every time', async () => {
    const a = await cli(['secret', 'new']);
    const b = await cli(['secret', 'new']);
    expect(a.code).toBe(0);
    expect(a.stderr).toBe('');
    expect(a.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(b.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(a.stdout).not.toBe(b.stdout);
  });

  test('secret with anything else is a one-line usage error', async () => {
    const run = await cli(['secret', 'old']);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toHaveLength(1);
  });
});

describe('cloakroom user …', () => {
  let dataDir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    dataDir = tempDir();
    env = { CLOAKROOM_DATA_DIR: dataDir, CLOAKROOM_SECRETS: TEST_SECRET };
  });

  const listUsers = async () => {
    const run = await cli(['user', 'list', '--json'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(/argon2|passwordHash|password/i);
    return JSON.parse(run.stdout) as Array<Record<string, unknown>>;
  };

  test('user add NAME --role admin --password-stdin creates the user (exit 0), never printing the password', async () => {
    const run = await cli(['user', 'add', 'alice', '--role', 'admin', '--password-stdin'], {
      env,
      input: `${PASSWORD}\n`,
    });
    // stderr carries the audit event (one JSON line), stdout the result.
    expect(lines(run.stderr).map((l) => (JSON.parse(l) as { event: string }).event)).toEqual([
      'user.created',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/alice/);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  test('adding the same name again: exit 1 with exactly one line on stderr', async () => {
    const run = await cli(['user', 'add', 'ALICE', '--password-stdin'], { env, input: PASSWORD });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^cloakroom: .*taken/);
    expect(run.stdout).toBe('');
  });

  test('a short password, a bad role, or no terminal and no --password-stdin: exit 1, one line, no user', async () => {
    const runs = [
      await cli(['user', 'add', 'bob', '--password-stdin'], { env, input: 'short' }),
      await cli(['user', 'add', 'bob', '--role', 'Bad Role', '--password-stdin'], { env, input: PASSWORD }),
      await cli(['user', 'add', 'bob'], { env }),
      await cli(['user', 'add', '--password-stdin'], { env, input: PASSWORD }),
    ];
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(lines(run.stderr)).toHaveLength(1);
      expect(run.stderr).not.toContain(PASSWORD);
    }
    expect((await listUsers()).map((u) => u.username)).toEqual(['alice']);
  });

  test('user list --json parses, shows the user and no password hash', async () => {
    const users = await listUsers();
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ username: 'alice', roles: ['admin'], locked: false });
    expect(typeof users[0]?.id).toBe('string');
  });

  test('user list without --json prints a table', async () => {
    const run = await cli(['user', 'list'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/username/);
    expect(run.stdout).toMatch(/alice/);
  });

  test('user role NAME --add R / --remove R', async () => {
    const add = await cli(['user', 'role', 'alice', '--add', 'ops'], { env });
    expect(add.code).toBe(0);
    expect((await listUsers())[0]?.roles).toEqual(['admin', 'ops']);
    const remove = await cli(['user', 'role', 'alice', '--remove', 'ops'], { env });
    expect(remove.code).toBe(0);
    expect((await listUsers())[0]?.roles).toEqual(['admin']);
  });

  test('user role with both, neither, a bad role or an unknown user: exit 1, one line', async () => {
    for (const args of [
      ['user', 'role', 'alice'],
      ['user', 'role', 'alice', '--add', 'a', '--remove', 'b'],
      ['user', 'role', 'alice', '--add', 'Not Valid!'],
      ['user', 'role', 'nobody', '--add', 'ops'],
    ]) {
      const run = await cli(args, { env });
      expect(run.code, args.join(' ')).toBe(1);
      expect(lines(run.stderr)).toHaveLength(1);
    }
    expect((await listUsers())[0]?.roles).toEqual(['admin']);
  });

  test('user lock / user unlock', async () => {
    // alice is the only admin: locking her is refused (see cli-admin-safety.test.ts), so a
    // second admin comes first.
    const add = await cli(['user', 'add', 'carol', '--role', 'admin', '--password-stdin'], {
      env,
      input: PASSWORD,
    });
    expect(add.code).toBe(0);
    expect((await cli(['user', 'lock', 'alice'], { env })).code).toBe(0);
    expect((await listUsers())[0]?.locked).toBe(true);
    expect((await cli(['user', 'unlock', 'alice'], { env })).code).toBe(0);
    expect((await listUsers())[0]?.locked).toBe(false);
    const unknown = await cli(['user', 'lock', 'nobody'], { env });
    expect(unknown.code).toBe(1);
    expect(lines(unknown.stderr)).toHaveLength(1);
  });

  test('user passwd NAME --password-stdin sets a new password; a short one is refused', async () => {
    const short = await cli(['user', 'passwd', 'alice', '--password-stdin'], { env, input: 'short' });
    expect(short.code).toBe(1);
    expect(lines(short.stderr)).toHaveLength(1);

    const run = await cli(['user', 'passwd', 'alice', '--password-stdin'], {
      env,
      input: `${NEW_PASSWORD}\n`,
    });
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(NEW_PASSWORD);

    // The new password signs in on a server over the same data dir; the old one does not.
    const server = await serve(env);
    try {
      const login = (password: string) =>
        fetch(`${server.url}/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password }),
        });
      expect((await login(PASSWORD)).status).toBe(401);
      expect((await login(NEW_PASSWORD)).status).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  test('migrate: exit 0 with one line saying the schema is up to date, twice in a row', async () => {
    for (let i = 0; i < 2; i++) {
      const run = await cli(['migrate'], { env });
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(lines(run.stdout)).toHaveLength(1);
      expect(run.stdout).toMatch(/migrat|schema/i);
    }
  });

  test('an unknown command or option: exit 1 with one line', async () => {
    for (const args of [
      ['frobnicate'],
      ['user', 'frobnicate'],
      ['sessions', 'frobnicate'],
      ['user', 'list', '--nope'],
    ]) {
      const run = await cli(args, { env });
      expect(run.code, args.join(' ')).toBe(1);
      expect(lines(run.stderr), args.join(' ')).toHaveLength(1);
      expect(run.stderr).toMatch(/^cloakroom: /);
    }
  });

  test('--help and no command print the usage (exit 0)', async () => {
    for (const args of [['--help'], []]) {
      const run = await cli(args);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/cloakroom serve/);
    }
  });
});

describe('cloakroom migrate on DATABASE_URL', () => {
  test('creates the schema on an empty database, then applies nothing on a second run (idempotent)', async () => {
    const database = await requirePostgres();
    try {
      const env = { DATABASE_URL: database.url, CLOAKROOM_DATA_DIR: tempDir() };
      const applied = () =>
        database.pool
          .query<{ version: number; applied_at: string }>(
            'SELECT version, applied_at FROM cloakroom_migrations ORDER BY version',
          )
          .then((r) => r.rows);
      const tables = async () =>
        (
          await database.pool.query<{ tablename: string }>(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE 'cloakroom_%' ORDER BY tablename",
          )
        ).rows.map((r) => r.tablename);
      expect(await tables()).toEqual([]);

      const first = await cli(['migrate'], { env });
      expect(first.code).toBe(0);
      expect(first.stderr).toBe('');
      expect(lines(first.stdout)).toHaveLength(1);
      expect(first.stdout).toMatch(/users=postgres/);
      expect(first.stdout).not.toContain(database.url);
      expect(await tables()).toEqual([
        'cloakroom_counters',
        'cloakroom_migrations',
        'cloakroom_sessions',
        'cloakroom_users',
      ]);
      const versions = await applied();
      expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));

      const second = await cli(['migrate'], { env });
      expect(second.code).toBe(0);
      expect(second.stderr).toBe('');
      expect(second.stdout).toBe(first.stdout);
      // Nothing re-applied: the same versions with the same timestamps.
      expect(await applied()).toEqual(versions);
    } finally {
      await database.drop();
    }
  });
});

describe('cloakroom sessions …', () => {
  test('sessions list --json shows sessions made through the server, without any token; revoke ID and --user end them', async () => {
    const dataDir = tempDir();
    const env = {
      CLOAKROOM_DATA_DIR: dataDir,
      CLOAKROOM_SECRETS: TEST_SECRET,
      CLOAKROOM_ADMIN_USER: 'root',
      CLOAKROOM_ADMIN_PASSWORD: ADMIN_PASSWORD,
    };
    const server = await serve(env);
    try {
      const login = async () => {
        const res = await fetch(`${server.url}/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'cli-test' },
          body: JSON.stringify({ username: 'root', password: ADMIN_PASSWORD }),
        });
        expect(res.status).toBe(200);
        return sessionCookieOf(res)!;
      };
      const status = async (cookie: string) =>
        (await fetch(`${server.url}/api/session`, { headers: { cookie } })).status;
      const first = await login();
      const second = await login();
      const firstId = (
        (await (await fetch(`${server.url}/api/session`, { headers: { cookie: first } })).json()) as {
          session: { id: string };
        }
      ).session.id;

      const list = await cli(['sessions', 'list', '--json'], { env });
      expect(list.code).toBe(0);
      const rows = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
      expect(rows).toHaveLength(2);
      for (const row of rows) {
        expect(row).toMatchObject({ user: 'root', ip: '127.0.0.1', userAgent: 'cli-test' });
        expect(row.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      }
      expect(rows.map((r) => r.id)).toContain(firstId);
      for (const cookie of [first, second]) {
        const [token, signature] = cookie.split('=')[1]!.split('.');
        expect(list.stdout).not.toContain(token!);
        expect(list.stdout).not.toContain(signature!);
      }
      const byName = await cli(['sessions', 'list', 'root', '--json'], { env });
      expect(JSON.parse(byName.stdout)).toHaveLength(2);

      const revokeOne = await cli(['sessions', 'revoke', firstId], { env });
      expect(revokeOne.code).toBe(0);
      expect(await status(first)).toBe(401);
      expect(await status(second)).toBe(200);

      const unknown = await cli(['sessions', 'revoke', 'AAAAAAAAAAAAAAAAAAAAAA'], { env });
      expect(unknown.code).toBe(1);
      expect(lines(unknown.stderr)).toHaveLength(1);
      // One id in 64 begins with '-': it is still the id, not an unknown option (nor after --).
      for (const args of [['-AAAAAAAAAAAAAAAAAAAAA'], ['--', '-AAAAAAAAAAAAAAAAAAAAA']]) {
        const dashed = await cli(['sessions', 'revoke', ...args], { env });
        expect(dashed.code).toBe(1);
        expect(dashed.stderr).toBe('cloakroom: no live session with id "-AAAAAAAAAAAAAAAAAAAAA"\n');
      }

      const revokeAll = await cli(['sessions', 'revoke', '--user', 'root'], { env });
      expect(revokeAll.code).toBe(0);
      expect(revokeAll.stdout).toMatch(/1 session/);
      expect(await status(second)).toBe(401);
      expect(JSON.parse((await cli(['sessions', 'list', '--json'], { env })).stdout)).toEqual([]);

      // A password set through the CLI signs the user out everywhere, on the running server too.
      const third = await login();
      const passwd = await cli(['user', 'passwd', 'root', '--password-stdin'], {
        env,
        input: ADMIN_PASSWORD,
      });
      expect(passwd.code).toBe(0);
      expect(passwd.stdout).toMatch(/1 session/);
      expect(await status(third)).toBe(401);

      // Lock through the CLI: the running server refuses the user on the next request. root is
      // the only admin, and the CLI refuses to lock the last one: another admin first.
      const fourth = await login();
      const deputy = await cli(['user', 'add', 'deputy', '--role', 'admin', '--password-stdin'], {
        env,
        input: ADMIN_PASSWORD,
      });
      expect(deputy.code).toBe(0);
      expect((await cli(['user', 'lock', 'root'], { env })).code).toBe(0);
      expect(await status(fourth)).toBe(401);
      const afterLock = await fetch(`${server.url}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'root', password: ADMIN_PASSWORD }),
      });
      expect(afterLock.status).toBe(401);

      const unknownUser = await cli(['sessions', 'list', 'nobody'], { env });
      expect(unknownUser.code).toBe(1);
      expect(lines(unknownUser.stderr)).toHaveLength(1);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});

describe('cloakroom serve', () => {
  test('a bad variable stops start-up: exit 1 with one line naming it', async () => {
    const run = await cli(['serve'], {
      env: { PORT: 'abc', CLOAKROOM_DATA_DIR: tempDir(), CLOAKROOM_SECRETS: TEST_SECRET },
    });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/PORT/);
    expect(run.stdout + run.stderr).not.toContain(TEST_SECRET);
  });

  test('a weak secret stops start-up without echoing it', async () => {
    const run = await cli(['serve'], {
      env: { CLOAKROOM_DATA_DIR: tempDir(), CLOAKROOM_SECRETS: 'changeme-changeme-changeme-changeme' },
    });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/CLOAKROOM_SECRETS/);
    expect(run.stdout + run.stderr).not.toContain('changeme');
  });

  test('NODE_ENV=production without secrets: exit 1 mentioning CLOAKROOM_SECRETS', async () => {
    const run = await cli(['serve'], { env: { NODE_ENV: 'production', CLOAKROOM_DATA_DIR: tempDir() } });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/CLOAKROOM_SECRETS/);
  });

  test('a malformed REDIS_URL stops start-up with one line naming it, without echoing it', async () => {
    const run = await cli(['serve'], {
      env: {
        PORT: '0',
        CLOAKROOM_DATA_DIR: tempDir(),
        CLOAKROOM_SECRETS: TEST_SECRET,
        REDIS_URL: 'http://:hunter2secret@localhost:6379',
      },
    });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/REDIS_URL/);
    expect(run.stdout + run.stderr).not.toContain('hunter2secret');
  });

  test('an unreachable Redis: serve still starts and fails closed (readyz 503, sign-in 503, healthz 200), never printing the URL password, and stops on SIGTERM', async () => {
    const server = await serve({
      CLOAKROOM_DATA_DIR: tempDir(),
      CLOAKROOM_SECRETS: TEST_SECRET,
      CLOAKROOM_ADMIN_USER: 'root',
      CLOAKROOM_ADMIN_PASSWORD: ADMIN_PASSWORD,
      REDIS_URL: 'redis://:hunter2secret@127.0.0.1:1',
    });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
      const login = await fetch(`${server.url}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'root', password: ADMIN_PASSWORD }),
      });
      expect(login.status).toBe(503);
      expect(login.headers.getSetCookie()).toEqual([]);
    } finally {
      server.child.kill('SIGTERM');
    }
    const { code } = await server.exited;
    expect(code).toBe(0);
    expect(server.stdout() + server.stderr()).not.toContain('hunter2secret');
  });

  test('PORT=0 logs the real URL; CLOAKROOM_ADMIN_USER/PASSWORD bootstrap an admin who can sign in; SIGTERM lets an in-flight sign-in finish, logs "stopped" and exits 0', async () => {
    const dataDir = tempDir();
    const server = await serve({
      CLOAKROOM_DATA_DIR: dataDir,
      CLOAKROOM_SECRETS: TEST_SECRET,
      CLOAKROOM_ADMIN_USER: 'root',
      CLOAKROOM_ADMIN_PASSWORD: ADMIN_PASSWORD,
    });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).not.toMatch(/:0$/);
    expect(server.logs().some((l) => l.event === 'admin.bootstrapped')).toBe(true);

    const first = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'root', password: ADMIN_PASSWORD }),
    });
    expect(first.status).toBe(200);
    const body = (await first.json()) as { user: { roles: string[] }; csrfToken: string };
    expect(body.user.roles).toEqual(['admin']);
    const cookie = sessionCookieOf(first)!;

    // An in-flight sign-in: headers and half the body are on the server when SIGTERM arrives.
    const encoder = new TextEncoder();
    const json = JSON.stringify({ username: 'root', password: ADMIN_PASSWORD });
    const half = Math.floor(json.length / 2);
    let finish: () => void = () => {};
    const rest = new Promise<void>((r) => {
      finish = r;
    });
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode(json.slice(0, half)));
        await rest;
        controller.enqueue(encoder.encode(json.slice(half)));
        controller.close();
      },
    });
    const inFlight = fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    // Give the server ample time to have read the request head before the signal arrives.
    await new Promise((r) => setTimeout(r, 1_000));
    server.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    finish();
    const late = await inFlight;
    expect(late.status).toBe(200);
    await late.text();

    const { code, signal } = await server.exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    const events = server.logs().map((l) => l.event);
    expect(events).toContain('shutdown');
    expect(events).toContain('stopped');
    expect(events.indexOf('stopped')).toBeGreaterThan(events.indexOf('shutdown'));

    const output = server.stdout() + server.stderr();
    const [token, signature] = cookie.split('=')[1]!.split('.');
    for (const secret of [ADMIN_PASSWORD, TEST_SECRET, token!, signature!, body.csrfToken]) {
      expect(output).not.toContain(secret);
    }
  });

  test('SIGTERM: once the in-flight requests are answered the process exits promptly, without waiting for idle keep-alive sockets to time out', async () => {
    const server = await serve({ CLOAKROOM_DATA_DIR: tempDir(), CLOAKROOM_SECRETS: TEST_SECRET });
    let finish: () => void = () => {};
    const rest = new Promise<void>((r) => {
      finish = r;
    });
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode('{"username":"nobody",'));
        await rest;
        controller.enqueue(new TextEncoder().encode('"password":"some wrong password"}'));
        controller.close();
      },
    });
    const inFlight = fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    // Give the server ample time to have read the request head before the signal arrives.
    await new Promise((r) => setTimeout(r, 1_000));
    server.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    finish();
    const res = await inFlight;
    expect(res.status).toBe(401);
    await res.text();
    const answeredAt = performance.now();
    const { code } = await server.exited;
    expect(code).toBe(0);
    // The client's pooled connection is idle now; the server should close it instead of waiting
    // for the 5 s keep-alive timeout (or the 10 s grace).
    expect(performance.now() - answeredAt).toBeLessThan(2_000);
  });

  test('SIGINT also drains and exits 0', async () => {
    const server = await serve({ CLOAKROOM_DATA_DIR: tempDir(), CLOAKROOM_SECRETS: TEST_SECRET });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    server.child.kill('SIGINT');
    expect((await server.exited).code).toBe(0);
    expect(server.logs().some((l) => l.event === 'stopped')).toBe(true);
  });

  test('first start in development creates DATA_DIR, generates a secret with a warning, and says setup is needed', async () => {
    const dataDir = join(tempDir(), 'nested', 'data');
    expect(existsSync(dataDir)).toBe(false);
    const server = await serve({ CLOAKROOM_DATA_DIR: dataDir });
    try {
      expect(existsSync(dataDir)).toBe(true);
      const secretFile = join(dataDir, 'secret');
      expect(statSync(secretFile).mode & 0o777).toBe(0o600);
      const logs = server.logs();
      const generated = logs.find((l) => l.event === 'secret.generated');
      expect(generated).toBeDefined();
      expect(generated?.level).toBe('warn');
      expect(String(generated?.msg)).toMatch(/CLOAKROOM_SECRETS/);
      // The set-up line comes after `listening`, possibly in a later write: wait for it.
      const setup = await vi.waitFor(() => {
        const line = server.logs().find((l) => l.event === 'setup.needed');
        expect(line).toBeDefined();
        return line;
      });
      expect(String(setup?.msg)).toMatch(/user add/);
      const secret = readFileSync(secretFile, 'utf8').trim();
      expect(server.stdout() + server.stderr()).not.toContain(secret);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }

    // The second start reuses the secret and does not warn about generating one.
    const again = await serve({ CLOAKROOM_DATA_DIR: dataDir });
    try {
      expect(again.logs().some((l) => l.event === 'secret.generated')).toBe(false);
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  });
});
