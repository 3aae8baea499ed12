import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A `cloakroom serve` running as its own process (dist/ is built by the global setup). */
export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>;
  /** Raw stdout + stderr so far. */
  output(): string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export const SERVER_SECRET = 'Qm9x7c2JrZ0d1bWRpY3RhdGVzLXJhbmRvbS1zZWNyZXQ';

/** Starts `node dist/cli/main.js serve` on a free port and waits for its `listening` line. */
export async function startServerProcess(env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['packages/server/dist/cli/main.js', 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      CLOAKROOM_SECRETS: SERVER_SECRET,
      CLOAKROOM_DATA_DIR: mkdtempSync(join(tmpdir(), 'cloakroom-proc-')),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const logs: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s:\n${text}`)), 20_000);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      for (const line of chunk.toString().split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          logs.push(parsed);
          if (parsed.event === 'listening') {
            clearTimeout(timer);
            resolve(String(parsed.url));
          }
        } catch {
          // a partial line; the next chunk completes it
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${text}`));
    });
  });
  return {
    url,
    child,
    logs,
    output: () => text,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** JSON sign-in; returns the `name=value` cookie pair and the CSRF token. */
export async function apiLogin(
  url: string,
  username: string,
  password: string,
): Promise<{ status: number; cookie: string; csrf: string }> {
  const res = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const setCookie = res.headers.getSetCookie()[0] ?? '';
  const body = (await res.json()) as { csrfToken?: string };
  return { status: res.status, cookie: setCookie.split(';')[0] ?? '', csrf: body.csrfToken ?? '' };
}

/** Polls `check` every 200 ms until it holds; resolves how long that took, or throws after `ms`. */
export async function eventually(check: () => Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not recovered within ${ms} ms`);
}
