// Runs an example the way its README says (tsx on the TypeScript source), on a free port.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fixed, strong keyring secret for the example smoke tests (32 random bytes). Tests only. */
export const EXAMPLE_SECRET = 'CFHK74V_IYAlH8yQMDtHtowlNDuDuZhN6vFO47O9m5g';

export interface RunningProcess {
  child: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
  stop(): Promise<void>;
}

/**
 * Spawns `command args` and resolves once a line of its output matches `ready`. The process
 * gets PATH and HOME plus `env` (nothing else of the test's environment).
 */
export async function spawnUntil(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 30_000,
): Promise<RunningProcess & { match: RegExpMatchArray }> {
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} was not ready within ${timeoutMs} ms:\n${text}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const found = text.match(ready);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited before it was ready:\n${text}`));
    });
  });
  const pid = child.pid;
  return {
    child,
    match,
    output: () => text,
    async stop() {
      if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Starts `examples/<name>/server.ts` with tsx on a free port (PORT=0); returns its URL. */
export async function startExample(
  file: string,
  env: Record<string, string> = {},
): Promise<RunningProcess & { url: string }> {
  const running = await spawnUntil(
    process.execPath,
    ['--import', 'tsx', file],
    {
      PORT: '0',
      CLOAKROOM_SECRETS: EXAMPLE_SECRET,
      EXAMPLE_DATA_DIR: mkdtempSync(join(tmpdir(), 'cloakroom-example-')),
      ...env,
    },
    /listening on (http:\/\/127\.0\.0\.1:\d+)/,
  );
  return { ...running, url: running.match[1]! };
}

/**
 * Runs `examples/<name>/server.ts` like {@link startExample} but expects it to stop by itself:
 * resolves with its exit code and output (SIGKILL after `timeoutMs`, code `null`).
 */
export async function runExampleToExit(
  file: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      CLOAKROOM_SECRETS: EXAMPLE_SECRET,
      EXAMPLE_DATA_DIR: mkdtempSync(join(tmpdir(), 'cloakroom-example-')),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output };
}

/** A small cookie jar: keeps `name=value` from Set-Cookie, drops cleared ones. */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  absorb(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const first = line.split(';')[0] ?? '';
      const eq = first.indexOf('=');
      if (eq <= 0) continue;
      const name = first.slice(0, eq).trim();
      const value = first.slice(eq + 1).trim();
      if (value === '' || /;\s*max-age=0\b/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** fetch with this jar's cookies, absorbing the answer's; never follows redirects. */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', this.header());
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.absorb(res);
    return res;
  }
}

/** The value of `<input … name="NAME" value="…">` in an HTML page. */
export function inputValue(html: string, name: string): string {
  const match = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!match?.[1]) throw new Error(`no ${name} field in:\n${html}`);
  return match[1];
}
