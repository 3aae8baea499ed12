// Starts a runnable snippet the way a reader would run it (tsx), in a temporary working
// directory, on a free port given as PORT, with the keyring in CLOAKROOM_SECRETS.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../support/services.js';
import { ROOT, type SnippetFile } from './check.js';
import { where } from './markdown.js';
import type { Scenario } from './scenarios.js';

/** A fixed, strong keyring secret (32 random bytes) for the snippet apps. Tests only. */
export const SNIPPET_SECRET = 'p1bnP4t0I8sZb3xO9kWlq6yC2rV5uDhJ7eGmTaNfQwE';

/** How long an app may take from start to answering its first request. */
const START_TIMEOUT_MS = 30_000;

/**
 * The seed script, written beside the snippets (so `cloakroom` resolves the same way) and
 * type-checked with them: users, and optionally a session, in `data/app.db` of its working
 * directory — the file the runnable snippets open.
 */
export const SEED_SCRIPT = `import { createAccount, createSessions, fromWebRequest } from 'cloakroom';
import { createPasswordHasher } from 'cloakroom/passwords';
import { createSqliteStore } from 'cloakroom/sqlite';

const store = createSqliteStore({ path: 'data/app.db', sweepIntervalMs: 0 });
const passwords = createPasswordHasher();
const users = JSON.parse(process.env.SEED_USERS ?? '[]') as Array<{ username: string; password: string; roles: string[] }>;
for (const user of users) await createAccount(store.users, passwords, user, Date.now());
let setCookie: string[] = [];
if (process.env.SEED_SESSION_FOR) {
  const sessions = createSessions({ secrets: process.env.CLOAKROOM_SECRETS, store: store.sessions });
  const request = fromWebRequest(new Request('http://127.0.0.1/', { method: 'POST' }));
  ({ setCookie } = await sessions.create(request, { userId: process.env.SEED_SESSION_FOR }));
}
await store.close();
process.stdout.write(JSON.stringify({ setCookie }));
`;

const require = createRequire(join(ROOT, 'package.json'));
/** `node --import <this>` runs TypeScript as `npx tsx` does, whatever the working directory. */
const TSX = pathToFileURL(require.resolve('tsx')).href;

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setTimeout(2_000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

export interface RunningApp {
  url: string;
  /** Set-Cookie lines of the seeded session (empty without `sessionFor`). */
  setCookie: string[];
  output(): string;
  stop(): Promise<void>;
}

/** Seeds, starts `file` and resolves once it answers HTTP. Every error names the snippet. */
export async function startSnippet(
  file: SnippetFile,
  scenario: Scenario,
  seedScript: string,
): Promise<RunningApp> {
  const at = where(file.snippet);
  const cwd = mkdtempSync(join(tmpdir(), 'cloakroom-snippet-'));
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? cwd,
    CLOAKROOM_SECRETS: SNIPPET_SECRET,
  };
  let setCookie: string[] = [];
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', TSX, seedScript], {
      cwd,
      env: {
        ...env,
        SEED_USERS: JSON.stringify(scenario.users),
        ...(scenario.sessionFor ? { SEED_SESSION_FOR: scenario.sessionFor } : {}),
      },
    });
    ({ setCookie } = JSON.parse(stdout) as { setCookie: string[] });
  } catch (error) {
    rmSync(cwd, { recursive: true, force: true });
    throw new Error(`${at}: seeding its users failed: ${String(error)}`);
  }

  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', TSX, file.path], {
    cwd,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(cwd, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(
        `${at}: exited (${child.exitCode ?? child.signalCode}) before it listened on PORT:\n${text}`,
      );
    }
    // Listening is enough: whether it answers, and how, is for the scenario to find out.
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${at}: did not listen on PORT=${port} within ${START_TIMEOUT_MS} ms:\n${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, setCookie, output: () => text, stop };
}

/** Writes the seed script into `dir`; returns its path. */
export function writeSeedScript(dir: string): string {
  const path = join(dir, 'seed.mts');
  writeFileSync(path, SEED_SCRIPT);
  return path;
}
