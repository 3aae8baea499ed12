import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { loadConfig } from '../../packages/server/src/server/boot/config.js';
import { startServer } from '../../packages/server/src/server/boot/serve.js';
import { storeTargets } from '../../packages/server/src/server/boot/stores.js';
import { renderLine } from '../../packages/server/src/server/http/human-log.js';
import { createLogger, resolveLogFormat } from '../../packages/server/src/server/http/logger.js';
import { CLI_MAIN } from '../support/cli-process.js';
import { TEST_SECRET } from '../support/server.js';
import { SERVER_SECRET } from '../support/server-process.js';

// What `cloakroom serve` prints. For a person at a terminal (stdout is a terminal, or
// LOG_FORMAT=pretty): the URL to open, where the data lives, the set-up link on a line of its
// own, one short line per request. For everything else (a pipe, a file, a log collector, or
// LOG_FORMAT=json): one JSON object per line, as the other process tests rely on.

// util-linux `script` runs a command on a pseudo-terminal: its stdout is then a terminal.
const SCRIPT = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return 'script';
  } catch {
    throw new Error('util-linux `script` is needed for the terminal tests: apt-get install -y bsdutils');
  }
})();

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what is removed
const ANSI = /\x1b\[[0-9;]*m/g;
/** What a person reads: no colour codes, no carriage returns. */
const readable = (text: string) => text.replace(ANSI, '').replace(/\r/g, '');

interface Served {
  child: ChildProcess;
  /** Everything on stdout so far, as written (colour codes and all). */
  raw(): string;
  /** Resolves with stdout once `check` holds for it (within 20 s). */
  until(check: (text: string) => boolean): Promise<string>;
  /** Ctrl+C (on a terminal) or SIGINT; resolves when the process has exited. */
  stop(): Promise<void>;
}

const running: Array<{ served: Served; dataDir: string }> = [];
afterEach(async () => {
  for (const { served, dataDir } of running.splice(0)) {
    await served.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/** `cloakroom serve` with stdout on a pipe, or (`terminal`) on a pseudo-terminal. */
function serve(env: Record<string, string>, options: { terminal: boolean }): Served {
  const dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-tty-'));
  const fullEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    TERM: 'xterm-256color',
    PORT: '0',
    HOST: '127.0.0.1',
    CLOAKROOM_SECRETS: SERVER_SECRET,
    CLOAKROOM_DATA_DIR: dataDir,
    ...env,
  };
  const command = `exec '${process.execPath}' '${CLI_MAIN}' serve`;
  const child = options.terminal
    ? spawn(SCRIPT, ['-qfec', command, '/dev/null'], { env: fullEnv, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, [CLI_MAIN, 'serve'], { env: fullEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const wake of waiters) wake();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const served: Served = {
    child,
    raw: () => out,
    until(check) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`not seen within 20 s; stdout:\n${out}\nstderr:\n${err}`));
        }, 20_000);
        const wake = () => {
          if (!check(out)) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(out);
        };
        waiters.add(wake);
        wake();
        void exited.then(() => {
          if (check(out)) return;
          clearTimeout(timer);
          waiters.delete(wake);
          reject(new Error(`exited first; stdout:\n${out}\nstderr:\n${err}`));
        });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        // On the terminal, Ctrl+C as a person would press it: the terminal sends SIGINT.
        if (options.terminal) child.stdin?.write('\x03');
        else child.kill('SIGINT');
        const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(force);
      }
    },
  };
  running.push({ served, dataDir });
  return served;
}

/** The set-up link from human output: the line that is nothing but the link. */
function linkLine(text: string): string | undefined {
  return readable(text)
    .split('\n')
    .find((line) => /^\s*http:\/\/\S+\/setup\?token=\S+\s*$/.test(line));
}

describe('cloakroom serve, stdout not a terminal: JSON lines', () => {
  test('piped stdout gets one JSON object per line: listening (with where the data lives), then the set-up link', async () => {
    const served = serve({}, { terminal: false });
    const out = await served.until((t) => t.includes('"setup.needed"'));
    const lines = out.split('\n').filter((l) => l.trim() !== '');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const listening = parsed.find((l) => l.event === 'listening');
    expect(listening?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(listening?.storage).toEqual({
      users: { store: 'sqlite', at: expect.stringMatching(/cloakroom-tty-.*\/cloakroom\.db$/) },
      sessions: { store: 'sqlite', at: expect.stringMatching(/cloakroom-tty-.*\/cloakroom\.db$/) },
    });
    expect(parsed.find((l) => l.event === 'setup.needed')?.setupUrl).toMatch(/\/setup\?token=/);
    // No request lines in JSON: the proxy in front keeps the access log.
    await fetch(`${listening?.url}/login`).then((r) => r.arrayBuffer());
    await served.stop();
    expect(served.raw()).not.toContain('"event":"request"');
    for (const line of served
      .raw()
      .split('\n')
      .filter((l) => l.trim() !== ''))
      JSON.parse(line);
  });

  test('LOG_FORMAT=json on a terminal still writes JSON lines', async () => {
    const served = serve({ LOG_FORMAT: 'json' }, { terminal: true });
    const out = readable(await served.until((t) => t.includes('"setup.needed"')));
    const lines = out.split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(linkLine(out)).toBeUndefined();
  });
});

describe('cloakroom serve, stdout a terminal (or LOG_FORMAT=pretty): text for a person', () => {
  test('on a terminal: the URL to open, the SQLite file, the set-up link alone on its line; a request is one short line without its query', async () => {
    const served = serve({}, { terminal: true });
    // The start-up text ends with the shell alternative, after the link: wait for all of it.
    const out = readable(await served.until((t) => readable(t).includes('Or from a shell:')));
    expect(out).not.toMatch(/^\{/m);
    expect(out).toContain('cloakroom is running');
    const url = /^\s*Open\s+(http:\/\/127\.0\.0\.1:\d+)\s*$/m.exec(out)?.[1];
    expect(url, out).toBeDefined();
    expect(out).toMatch(/^\s*Data\s+\/\S+\/cloakroom\.db\s+\(SQLite: users and sessions\)$/m);
    const link = linkLine(out)!.trim();
    expect(link.startsWith(`${url}/setup?token=`)).toBe(true);
    // The link's line carries no colour codes: copied or clicked, it is exactly the link.
    expect(
      served
        .raw()
        .split('\n')
        .find((l) => l.includes('/setup?token='))
        ?.replace(/\r/g, ''),
    ).toBe(`  ${link}`);
    expect(out).toContain('npx cloakroom user add NAME --role admin');
    // Colour on a terminal (NO_COLOR unset).
    expect(served.raw()).toMatch(ANSI);

    const setup = await fetch(link);
    expect(setup.status).toBe(200);
    await setup.arrayBuffer();
    await (await fetch(`${url}/nothing-here`)).arrayBuffer();
    const after = readable(await served.until((t) => readable(t).includes('/nothing-here 404')));
    const requests = after.split('\n').filter((l) => /^\d\d:\d\d:\d\d (GET|POST)/.test(l));
    expect(requests).toEqual([
      expect.stringMatching(/^\d\d:\d\d:\d\d GET +\/setup 200 \d+ ms$/),
      expect.stringMatching(/^\d\d:\d\d:\d\d GET +\/nothing-here 404 \d+ ms$/),
    ]);
    // The token is printed once, in the link; never in a request line.
    expect(after.split(new URL(link).searchParams.get('token')!).length).toBe(2);

    await served.stop();
    expect(readable(served.raw())).toMatch(/received SIGINT, draining/);
    expect(readable(served.raw())).toMatch(/cloakroom stopped/);
  });

  test('LOG_FORMAT=pretty into a pipe: the same text, without colour codes', async () => {
    const served = serve({ LOG_FORMAT: 'pretty' }, { terminal: false });
    const out = await served.until((t) => t.includes('Or from a shell:'));
    expect(out).not.toMatch(ANSI);
    expect(out).toContain('cloakroom is running');
    expect(linkLine(out)?.trim()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/setup\?token=[\w-]{40,}$/);
  });

  test('NO_COLOR on a terminal: text without colour codes', async () => {
    const served = serve({ NO_COLOR: '1' }, { terminal: true });
    const out = await served.until((t) => t.includes('Or from a shell:'));
    expect(out).not.toMatch(ANSI);
    expect(out).toContain('cloakroom is running');
  });
});

describe('the text format, in process', () => {
  test('auto is pretty on a terminal and JSON otherwise; json and pretty are what they say', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });

  test('Redis and PostgreSQL are named by host, port and database, never with a password or query', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-targets-'));
    try {
      const config = loadConfig(
        {
          CLOAKROOM_DATA_DIR: dataDir,
          CLOAKROOM_SECRETS: TEST_SECRET,
          REDIS_URL: 'rediss://:r3dis-pass@cache.internal:6380/2',
          DATABASE_URL: 'postgres://cloak:pg-pass@db.internal:5433/auth?sslmode=require&password=pg-pass2',
        },
        { needSecrets: false },
      );
      const targets = storeTargets(config);
      expect(targets).toEqual({
        users: { store: 'postgres', at: 'cloak@db.internal:5433/auth' },
        sessions: { store: 'redis', at: 'cache.internal:6380/2' },
      });
      const text = renderLine({
        level: 'info',
        event: 'listening',
        url: 'http://0.0.0.0:3000',
        storage: targets,
      });
      expect(text).toMatch(/^\s*Users\s+cloak@db\.internal:5433\/auth\s+\(PostgreSQL\)$/m);
      expect(text).toMatch(/^\s*Sessions\s+cache\.internal:6380\/2\s+\(Redis\)$/m);
      // 0.0.0.0 is where it listens, not an address to open.
      expect(text).toMatch(
        /^\s*Open\s+http:\/\/localhost:3000\s+\(listening on http:\/\/0\.0\.0\.0:3000\)$/m,
      );
      expect(text).not.toMatch(/pass/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a client-chosen string cannot forge a line or send terminal codes', () => {
    const text = renderLine({
      level: 'info',
      time: new Date().toISOString(),
      event: 'login.failure',
      msg: 'login.failure',
      username: 'mallory\n10:00:00 login.success userId=admin\x1b[2J',
      ip: '127.0.0.1',
    });
    expect(text.split('\n')).toHaveLength(2);
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toContain('\x1b');
    expect(text).toContain('ip=127.0.0.1');
    const request = renderLine({
      level: 'info',
      event: 'request',
      method: 'GET',
      path: '/a\r\nb',
      status: 404,
    });
    expect(request.split('\n')).toHaveLength(2);
  });

  test('a server whose logger writes for a person logs each request (not the stylesheet); the JSON logger does not', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-pretty-'));
    const env = { CLOAKROOM_DATA_DIR: dataDir, CLOAKROOM_SECRETS: TEST_SECRET, PORT: '0', HOST: '127.0.0.1' };
    const text: string[] = [];
    const json: string[] = [];
    const pretty = await startServer(
      loadConfig(env),
      createLogger('info', { write: (s: string) => void text.push(s) }, 'pretty'),
    );
    const plain = await startServer(
      loadConfig({ ...env }),
      createLogger('info', { write: (s: string) => void json.push(s) }),
    );
    try {
      for (const server of [pretty, plain]) {
        for (const path of ['/login', '/assets/cloakroom.css', '/api/session']) {
          await (await fetch(`${server.url}${path}`)).arrayBuffer();
        }
      }
      const requests = text
        .join('')
        .split('\n')
        .filter((l) => / (GET|POST) /.test(l));
      expect(requests).toEqual([
        expect.stringMatching(/ GET +\/login 200 \d+ ms$/),
        expect.stringMatching(/ GET +\/api\/session 401 \d+ ms$/),
      ]);
      expect(json.join('')).not.toContain('"request"');
    } finally {
      await pretty.close();
      await plain.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
