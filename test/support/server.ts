import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PasswordHasher } from '../../packages/cloakroom/src/auth/types.js';
import { createAccount, type User } from '../../packages/cloakroom/src/auth/users.js';
import type { Clock } from '../../packages/cloakroom/src/core/clock.js';
import type { IncomingRequest } from '../../packages/cloakroom/src/core/request.js';
import { type Env, loadConfig } from '../../packages/server/src/server/boot/config.js';
import { startServer } from '../../packages/server/src/server/boot/serve.js';
import type { ServerDeps } from '../../packages/server/src/server/http/context.js';
import { createLogger } from '../../packages/server/src/server/http/logger.js';

/** A fixed, strong test keyring secret (32 random bytes, base64url). Never used outside tests. */
export const TEST_SECRET = 'rz_ci1gnceZ8VxeMg0lWyLS9PEOrT-Mqm8WwToHN844';
/** The password of every user the harness creates unless told otherwise. */
export const PASSWORD = 'correct horse battery staple';

/** One parsed pino line. */
export type LogLine = Record<string, unknown> & { event?: string; level?: string; msg?: string };

/**
 * A minimal cookie jar: remembers `name=value` pairs from `Set-Cookie` (a `Max-Age=0` or empty
 * value deletes) and sends them back as one `Cookie` header.
 */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  /** The `Cookie` header to send, or `undefined` when the jar is empty. */
  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Absorbs every `Set-Cookie` of a response. */
  absorb(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const pair = cookiePair(line);
      if (!pair) continue;
      const [name, value] = pair;
      if (value === '' || /;\s*max-age=0\b/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/** `name=value` of a `Set-Cookie` line, split. */
export function cookiePair(setCookie: string): [string, string] | null {
  const first = setCookie.split(';')[0] ?? '';
  const eq = first.indexOf('=');
  if (eq <= 0) return null;
  return [first.slice(0, eq).trim(), first.slice(eq + 1).trim()];
}

/** The session cookie (`cloakroom=…` or `__Host-cloakroom=…`) a response sets, as a Cookie header value. */
export function sessionCookieOf(response: Response): string | null {
  for (const line of response.headers.getSetCookie()) {
    const pair = cookiePair(line);
    if (pair && /^(__Host-)?cloakroom$/.test(pair[0]) && pair[1] !== '') return `${pair[0]}=${pair[1]}`;
  }
  return null;
}

/** Options of {@link ServerHarness.fetch}. */
export interface HarnessInit {
  method?: string;
  headers?: Record<string, string>;
  /** A raw `Cookie` header. */
  cookie?: string;
  /** A jar to send cookies from and store `Set-Cookie` into. */
  jar?: CookieJar;
  /** Sent as `X-CSRF-Token`. */
  csrf?: string;
  /** A JSON body (sets `Content-Type: application/json`). */
  json?: unknown;
  /** A URL-encoded body (sets `Content-Type: application/x-www-form-urlencoded`). */
  form?: Record<string, string> | string;
  /** A raw body; set the Content-Type yourself. */
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

/** What a successful sign-in gives back. */
export interface Login {
  /** `cloakroom=token.signature`, ready to send as a `Cookie` header. */
  cookie: string;
  csrf: string;
  user: User;
  response: Response;
  /** The raw `Set-Cookie` lines. */
  setCookie: string[];
}

export interface ServerHarness {
  url: string;
  /** `http://127.0.0.1:PORT`: what a same-origin browser sends as `Origin`. */
  origin: string;
  /** `127.0.0.1:PORT`. */
  host: string;
  dataDir: string;
  deps: ServerDeps;
  /** Every log line the server wrote, parsed. */
  logs: LogLine[];
  /** Every log line the server wrote, as written. */
  rawLogs: string[];
  ids: { alice: string; bob: string };
  /** Real HTTP over loopback (Node's global fetch), redirects not followed. */
  fetch(path: string, init?: HarnessInit): Promise<Response>;
  /** Signs in over HTTP (JSON, no Origin, like curl); throws unless 200. */
  login(
    username: string,
    password?: string,
    options?: { remember?: boolean; cookie?: string },
  ): Promise<Login>;
  /** A login-form token and the nonce cookie that goes with it, from the server's own keyring. */
  loginFormToken(): { cookie: string; token: string };
  /** Creates a user directly in the store. */
  createUser(username: string, options?: { roles?: string[]; password?: string }): Promise<User>;
  /** All captured log text, for "never appears in a log" assertions. */
  logText(): string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Extra environment, on top of the harness defaults. */
  env?: Env;
  /** Create alice (admin) and bob. Default `true`. */
  users?: boolean;
  /** Where the server's "now" comes from (e.g. a manual clock to step past timeouts). */
  clock?: Clock;
  /** Reuse this data dir (e.g. to restart a server); it is then left in place on close. */
  dataDir?: string;
  /** The hasher underneath the server's sign-in limit (e.g. one that pauses), instead of argon2id. */
  passwords?: PasswordHasher;
}

/**
 * Starts the real login server (`startServer`) on 127.0.0.1, port 0, with a fresh data dir, a
 * fixed test secret, and every log line captured. alice is an admin, bob a plain user; both
 * use {@link PASSWORD}. `close()` stops the server and removes the data dir it made.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<ServerHarness> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'cloakroom-server-'));
  const env: Env = {
    CLOAKROOM_DATA_DIR: dataDir,
    CLOAKROOM_SECRETS: TEST_SECRET,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    ...options.env,
  };
  const logs: LogLine[] = [];
  const rawLogs: string[] = [];
  const destination = {
    write(chunk: string) {
      for (const line of chunk.split('\n')) {
        if (line.trim() === '') continue;
        rawLogs.push(line);
        logs.push(JSON.parse(line) as LogLine);
      }
    },
  };
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    const config = loadConfig(env);
    server = await startServer(
      config,
      createLogger(config.logLevel, destination),
      options.clock,
      options.passwords ? { passwords: options.passwords } : {},
    );
  } catch (error) {
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const { deps, url } = server;
  const host = new URL(url).host;

  const createUser: ServerHarness['createUser'] = (username, o = {}) =>
    createAccount(
      deps.users,
      deps.passwords,
      { username, password: o.password ?? PASSWORD, roles: o.roles ?? [] },
      deps.clock.now(),
    );

  const ids = { alice: '', bob: '' };
  if (options.users ?? true) {
    ids.alice = (await createUser('alice', { roles: ['admin'] })).id;
    ids.bob = (await createUser('bob')).id;
  }

  const fetchPath = async (path: string, init: HarnessInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    const cookie = [init.cookie, init.jar?.header()].filter(Boolean).join('; ');
    if (cookie) headers.set('cookie', cookie);
    if (init.csrf !== undefined) headers.set('x-csrf-token', init.csrf);
    let body: string | Uint8Array | undefined = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    } else if (init.form !== undefined) {
      body = typeof init.form === 'string' ? init.form : new URLSearchParams(init.form).toString();
      if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
    }
    const method = init.method ?? (body === undefined ? 'GET' : 'POST');
    const response = await fetch(`${url}${path}`, {
      method,
      headers,
      redirect: 'manual',
      ...(body === undefined ? {} : { body }),
      ...(init.signal ? { signal: init.signal } : {}),
    });
    init.jar?.absorb(response);
    return response;
  };

  const login: ServerHarness['login'] = async (username, password = PASSWORD, o = {}) => {
    const response = await fetchPath('/api/login', {
      json: { username, password, ...(o.remember === undefined ? {} : { remember: o.remember }) },
      ...(o.cookie ? { cookie: o.cookie } : {}),
    });
    if (response.status !== 200) {
      throw new Error(`login ${username}: ${response.status} ${await response.text()}`);
    }
    const body = (await response.json()) as { user: User; csrfToken: string };
    const cookie = sessionCookieOf(response);
    if (!cookie) throw new Error(`login ${username}: no session cookie`);
    return {
      cookie,
      csrf: body.csrfToken,
      user: body.user,
      response,
      setCookie: response.headers.getSetCookie(),
    };
  };

  const loginFormToken = () => {
    const request: IncomingRequest = { method: 'GET', headers: new Headers(), https: false, host, ip: null };
    const issued = deps.sessions.issueLoginToken(request);
    const pair = cookiePair(issued.setCookie[0] ?? '');
    if (!pair) throw new Error('issueLoginToken set no nonce cookie');
    return { cookie: `${pair[0]}=${pair[1]}`, token: issued.token };
  };

  let closed = false;
  return {
    url,
    origin: `http://${host}`,
    host,
    dataDir,
    deps,
    logs,
    rawLogs,
    ids,
    fetch: fetchPath,
    login,
    loginFormToken,
    createUser,
    logText: () => rawLogs.join('\n'),
    async close() {
      if (closed) return;
      closed = true;
      try {
        await server.close(1_000);
      } finally {
        if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** Parses a JSON response body, failing with the text when it is not JSON. */
export async function jsonOf<T = Record<string, unknown>>(response: Response): Promise<T> {
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`expected JSON, got ${response.status}: ${text.slice(0, 200)}`);
  }
}
