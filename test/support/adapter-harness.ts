// The harness the adapter behaviour suite drives: one real SQLite store per app, the sign-in
// logic every app shares, and a transport (real HTTP over loopback, Fastify inject, Hono's
// app.request) reduced to the same request/response shape.
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type SignInDeps, type SignInResult, signIn } from '../../packages/cloakroom/src/auth/sign-in.js';
import { createThrottle } from '../../packages/cloakroom/src/auth/throttle.js';
import { createAccount } from '../../packages/cloakroom/src/auth/users.js';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import type { DbscEvent } from '../../packages/cloakroom/src/core/dbsc.js';
import type { DbscOptions } from '../../packages/cloakroom/src/core/options.js';
import type { IncomingRequest } from '../../packages/cloakroom/src/core/request.js';
import { createSessions, type Sessions } from '../../packages/cloakroom/src/core/sessions.js';
import { createSqliteStore, type SqliteStore } from '../../packages/cloakroom/src/stores/sqlite/index.js';
import { passwords } from './auth.js';
import { SECRET_A } from './core.js';

export const PASSWORD = 'correct horse battery staple';
/** Every request is addressed to this host, whatever the transport: the app's own origin. */
export const ORIGIN = 'http://app.test';
/**
 * The body size every app accepts (docs/api.md's 64 KiB): Express's and Fastify's parsers are
 * set to it, the Hono and node:http apps check it themselves, as docs/adapters.md shows.
 */
export const BODY_LIMIT = 64 * 1024;

/** A header value; a list is sent as that many header lines. */
export type HeaderValue = string | string[];

export interface TestRequest {
  method?: string;
  cookie?: string;
  headers?: Record<string, HeaderValue>;
  body?: string;
}

/** A response reduced to what the behaviour suite looks at, the same for every transport. */
export interface TestResponse {
  status: number;
  /** Every Set-Cookie value, in order. */
  setCookie: string[];
  header(name: string): string | null;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

/** One of the four small apps, on the real SQLite store (a fresh file per harness). */
export interface AdapterHarness {
  store: SqliteStore;
  clock: ManualClock;
  ids: { alice: string; bob: string };
  counter: { value: number };
  /** What the adapter's `onDbsc` was called with, in order. */
  dbscEvents: DbscEvent[];
  /** How often the app's own routes at the default DBSC paths ran (the adapter answers first). */
  dbscRouteHits: { value: number };
  request(path: string, init?: TestRequest): Promise<TestResponse>;
  /** Signs in (optionally carrying `cookie`) and returns the new cookie pair and CSRF token. */
  login(username: string, init?: { password?: string; cookie?: string }): Promise<LoginResult>;
  /** GET /login-form: a login token and the nonce cookie it is paired with. */
  loginForm(): Promise<LoginForm>;
  /**
   * Takes SQLite's write lock from a second connection, as another process would: reads go on,
   * writes fail with SQLITE_BUSY once the store's busy timeout has passed. Returns the release.
   */
  lockWrites(): () => void;
  close(): Promise<void>;
}

export interface LoginForm {
  token: string;
  /** The nonce cookie as a `name=value` pair. */
  cookie: string;
  setCookie: string[];
  cacheControl: string | null;
}

export interface LoginResult {
  cookie: string;
  csrf: string;
  response: TestResponse;
}

/** Adapter options the suite varies. */
export interface AppOptions {
  trustProxy?: boolean;
  /** `createSessions({ dbsc })`: device-bound sessions. Default off. */
  dbsc?: boolean | DbscOptions;
}

export type AdapterFactory = (options?: AppOptions) => Promise<AdapterHarness>;

/** What every app shares: store, core, sign-in deps, the counter behind POST /mutate. */
export interface Backend {
  trustProxy: boolean;
  store: SqliteStore;
  clock: ManualClock;
  sessions: Sessions;
  deps: SignInDeps;
  counter: { value: number };
  /** The apps pass this as their adapter's `onDbsc`; it records into `dbscEvents`. */
  onDbsc(event: DbscEvent): void;
  dbscEvents: DbscEvent[];
  /** Counted by the app routes at POST /auth/dbsc/register and /auth/dbsc/refresh. */
  dbscRouteHits: { value: number };
  /** The /login handler's logic, after its `loginCsrf` guard: sign in from the parsed body. */
  login(request: IncomingRequest, body: unknown): Promise<LoginAnswer>;
}

/** A sign-in outcome as the apps answer it; a failure comes with its status, body and headers. */
export type LoginAnswer =
  | { ok: true; result: Extract<SignInResult, { ok: true }> }
  | { ok: false; status: number; body: { error: string }; headers: Record<string, string> };

export type Send = (
  path: string,
  init: TestRequest & { headers: Record<string, HeaderValue> },
) => Promise<TestResponse>;
export interface App {
  send: Send;
  close(): Promise<void>;
}

export function toResponse(status: number, headers: Record<string, unknown>, text: string): TestResponse {
  const raw = headers['set-cookie'];
  const setCookie = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
  return {
    status,
    setCookie,
    header: (name) => {
      const value = headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : String(value);
    },
    text,
    json: <T>() => JSON.parse(text) as T,
  };
}

/** Real HTTP over loopback: a server on 127.0.0.1:0 and one connection per request. */
export async function overHttp(server: Server): Promise<App> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const send: Send = (path, init) =>
    new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers, agent: false },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve(toResponse(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'))),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });
  return {
    send,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function backend({
  trustProxy = false,
  dbsc = false,
}: AppOptions): Promise<Backend & { dir: string; ids: AdapterHarness['ids'] }> {
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-adapter-'));
  const clock = manualClock(Date.now());
  // A short busy timeout: lockWrites() makes writes wait for it before they fail.
  const store = createSqliteStore({
    path: join(dir, 'test.db'),
    clock,
    sweepIntervalMs: 0,
    busyTimeoutMs: 50,
  });
  const sessions = createSessions({ secrets: [SECRET_A], store: store.sessions, clock, dbsc });
  const dbscEvents: DbscEvent[] = [];
  const throttle = createThrottle({ counters: store.counters, clock });
  const deps: SignInDeps = { sessions, users: store.users, passwords, throttle, clock };
  const account = (username: string, roles: string[]) =>
    createAccount(store.users, passwords, { username, password: PASSWORD, roles }, clock.now());
  const [alice, bob] = await Promise.all([account('alice', ['admin']), account('bob', [])]);
  return {
    trustProxy,
    dir,
    store,
    clock,
    sessions,
    deps,
    counter: { value: 0 },
    onDbsc: (event) => void dbscEvents.push(event),
    dbscEvents,
    dbscRouteHits: { value: 0 },
    ids: { alice: alice.id, bob: bob.id },
    async login(request, body) {
      // A body that is not an object (JSON `null`, a number) is `bad_request` like a missing field.
      const input = typeof body === 'object' && body !== null ? body : {};
      const result = await signIn(deps, request, input);
      if (result.ok) return { ok: true, result };
      // No user here has a second factor; were one to, no session is made (docs/api.md's answer).
      if (result.error === 'second_factor') {
        return { ok: false, status: 401, body: { error: 'second_factor_required' }, headers: {} };
      }
      const status = { invalid_credentials: 401, throttled: 429, bad_request: 400, busy: 503 }[result.error];
      // A throttled or busy answer says when to come back (Retry-After).
      const headers: Record<string, string> =
        result.error === 'throttled' || result.error === 'busy'
          ? { 'retry-after': String(result.retryAfterSeconds) }
          : {};
      return { ok: false, status, body: { error: result.error }, headers };
    },
  };
}

export function harness(build: (b: Backend) => Promise<App>): AdapterFactory {
  return async (options = {}) => {
    const b = await backend(options);
    const app = await build(b);
    const request: AdapterHarness['request'] = (path, init = {}) => {
      const headers: Record<string, HeaderValue> = { host: 'app.test', ...init.headers };
      if (init.cookie) headers.cookie = init.cookie;
      return app.send(path, { ...init, headers });
    };
    return {
      store: b.store,
      clock: b.clock,
      ids: b.ids,
      counter: b.counter,
      dbscEvents: b.dbscEvents,
      dbscRouteHits: b.dbscRouteHits,
      request,
      async login(username, { password = PASSWORD, cookie } = {}) {
        const response = await request('/login', {
          method: 'POST',
          ...(cookie === undefined ? {} : { cookie }),
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password }),
        });
        const session = response.setCookie.filter((c) => c.startsWith('cloakroom='));
        const body = response.status === 200 ? response.json<{ csrfToken: string }>() : { csrfToken: '' };
        return { cookie: (session.at(-1) ?? '').split(';')[0]!, csrf: body.csrfToken, response };
      },
      async loginForm() {
        const res = await request('/login-form');
        const body = res.status === 200 ? res.json<{ token: string }>() : { token: '' };
        const cookie = res.setCookie.find((c) => c.startsWith('cloakroom-login=')) ?? '';
        return {
          token: body.token,
          cookie: cookie.split(';')[0]!,
          setCookie: res.setCookie,
          cacheControl: res.header('cache-control'),
        };
      },
      lockWrites() {
        const other = new Database(join(b.dir, 'test.db'));
        other.exec('BEGIN IMMEDIATE');
        return () => {
          other.exec('ROLLBACK');
          other.close();
        };
      },
      async close() {
        await app.close();
        await b.store.close();
        rmSync(b.dir, { recursive: true, force: true });
      },
    };
  };
}
