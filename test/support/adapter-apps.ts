import { mkdtempSync, rmSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import { createExpressAuth } from '../../src/adapters/express/index.js';
import {
  adopt,
  cloakroomPlugin,
  csrf,
  endSession,
  requireRole,
  requireUser,
  rotate,
} from '../../src/adapters/fastify/index.js';
import { type CloakroomEnv, createHonoAuth } from '../../src/adapters/hono/index.js';
import { createNodeAuth } from '../../src/adapters/node/index.js';
import { type SignInDeps, type SignInResult, signIn } from '../../src/auth/sign-in.js';
import { createThrottle } from '../../src/auth/throttle.js';
import { createAccount } from '../../src/auth/users.js';
import { type ManualClock, manualClock } from '../../src/core/clock.js';
import type { IncomingRequest } from '../../src/core/request.js';
import { createSessions, type Sessions } from '../../src/core/sessions.js';
import { createSqliteStore, type SqliteStore } from '../../src/stores/sqlite/index.js';
import { passwords } from './auth.js';
import { SECRET_A } from './core.js';

export const PASSWORD = 'correct horse battery staple';
/** Every request is addressed to this host, whatever the transport: the app's own origin. */
export const ORIGIN = 'http://app.test';

export interface TestRequest {
  method?: string;
  cookie?: string;
  headers?: Record<string, string>;
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
  request(path: string, init?: TestRequest): Promise<TestResponse>;
  /** Signs in (optionally carrying `cookie`) and returns the new cookie pair and CSRF token. */
  login(username: string, init?: { password?: string; cookie?: string }): Promise<LoginResult>;
  close(): Promise<void>;
}

export interface LoginResult {
  cookie: string;
  csrf: string;
  response: TestResponse;
}

/** Adapter options the suite varies. */
export interface AppOptions {
  trustProxy?: boolean;
}

export type AdapterFactory = (options?: AppOptions) => Promise<AdapterHarness>;

/** What every app shares: store, core, sign-in deps, the counter behind POST /mutate. */
interface Backend {
  trustProxy: boolean;
  store: SqliteStore;
  clock: ManualClock;
  sessions: Sessions;
  deps: SignInDeps;
  counter: { value: number };
  /** The /login handler's logic: status and JSON body from the sign-in result. */
  login(request: IncomingRequest, body: unknown): Promise<{ result: SignInResult; status: number }>;
}

type Send = (path: string, init: TestRequest & { headers: Record<string, string> }) => Promise<TestResponse>;
interface App {
  send: Send;
  close(): Promise<void>;
}

function toResponse(status: number, headers: Record<string, unknown>, text: string): TestResponse {
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
async function overHttp(server: Server): Promise<App> {
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

function expressApp(b: Backend): Promise<App> {
  const auth = createExpressAuth({ sessions: b.sessions, users: b.store.users, trustProxy: b.trustProxy });
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json(), express.urlencoded({ extended: false }), auth.middleware);
  // Sign-in comes before the CSRF guard: it replaces whatever session the request carries.
  app.post('/login', async (req, res) => {
    const { result, status } = await b.login(req.cloakroom.request, req.body);
    if (!result.ok) return void res.status(status).json({ error: result.error });
    auth.adopt(req, res, result.issued);
    res.json({
      user: result.user,
      csrfToken: result.issued.csrfToken,
      userOnRequest: req.cloakroom.user?.username ?? null,
    });
  });
  app.use(auth.csrf());
  app.post('/logout', auth.requireUser(), async (req, res) => {
    await auth.endSession(req, res);
    res.status(204).end();
  });
  app.get('/me', auth.requireUser(), (req, res) => {
    const { user, session } = req.cloakroom;
    res.json({ user, session, csrfToken: b.sessions.csrfToken(session!) });
  });
  app.get('/admin', auth.requireRole('admin'), (_req, res) => void res.json({ ok: true }));
  app.post('/mutate', auth.requireUser(), (_req, res) => void res.json({ counter: ++b.counter.value }));
  app.post('/rotate', auth.requireUser(), async (req, res) => {
    res.json({ csrfToken: (await auth.rotate(req, res)).csrfToken });
  });
  return overHttp(createServer(app));
}

async function fastifyApp(b: Backend): Promise<FastifyInstance> {
  const app = Fastify();
  // What @fastify/formbody does, in three lines: Fastify parses only JSON and text by itself.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  await app.register(cloakroomPlugin, {
    sessions: b.sessions,
    users: b.store.users,
    trustProxy: b.trustProxy,
  });
  app.post('/login', async (request, reply) => {
    const { result, status } = await b.login(request.cloakroom.request, request.body);
    if (!result.ok) return reply.code(status).send({ error: result.error });
    adopt(request, reply, result.issued);
    return {
      user: result.user,
      csrfToken: result.issued.csrfToken,
      userOnRequest: request.cloakroom.user?.username ?? null,
    };
  });
  // A child scope: the plugin is not encapsulated, so request.cloakroom is there too.
  await app.register(async (scope) => {
    scope.addHook('preHandler', csrf());
    scope.post('/logout', { preHandler: requireUser() }, async (request, reply) => {
      await endSession(request, reply);
      return reply.code(204).send();
    });
    scope.get('/me', { preHandler: requireUser() }, async (request) => {
      const { user, session } = request.cloakroom;
      return { user, session, csrfToken: b.sessions.csrfToken(session!) };
    });
    scope.get('/admin', { preHandler: requireRole('admin') }, async () => ({ ok: true }));
    scope.post('/mutate', { preHandler: requireUser() }, async () => ({ counter: ++b.counter.value }));
    scope.post('/rotate', { preHandler: requireUser() }, async (request, reply) => ({
      csrfToken: (await rotate(request, reply)).csrfToken,
    }));
  });
  await app.ready();
  return app;
}

async function fastifyInjectApp(b: Backend): Promise<App> {
  const app = await fastifyApp(b);
  return {
    send: async (path, init) => {
      const res = await app.inject({
        method: (init.method ?? 'GET') as 'GET',
        url: path,
        headers: init.headers,
        ...(init.body === undefined ? {} : { payload: init.body }),
      });
      return toResponse(res.statusCode, res.headers, res.body);
    },
    close: () => app.close(),
  };
}

async function fastifyHttpApp(b: Backend): Promise<App> {
  const app = await fastifyApp(b);
  const http = await overHttp(app.server);
  return { send: http.send, close: async () => Promise.all([http.close(), app.close()]).then(() => {}) };
}

function nodeApp(b: Backend): Promise<App> {
  const auth = createNodeAuth({ sessions: b.sessions, users: b.store.users, trustProxy: b.trustProxy });
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const state = await auth.authenticate(req, res);
    if (!state) return;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const type = req.headers['content-type'] ?? '';
    const route = `${req.method} ${new URL(req.url ?? '/', ORIGIN).pathname}`;
    if (route === 'POST /login') {
      const { result, status } = await b.login(
        state.request,
        type.startsWith('application/json') ? JSON.parse(raw) : {},
      );
      if (!result.ok) return json(res, status, { error: result.error });
      auth.adopt(state, res, result.issued);
      return json(res, 200, {
        user: result.user,
        csrfToken: result.issued.csrfToken,
        userOnRequest: state.user?.username ?? null,
      });
    }
    if (!auth.csrf(state, res, new URLSearchParams(raw))) return;
    if (route === 'POST /logout' && auth.requireUser(state, res)) {
      await auth.endSession(state, res);
      return void res.writeHead(204).end();
    }
    if (route === 'GET /me' && auth.requireUser(state, res)) {
      return json(res, 200, { user: state.user, session: state.session, csrfToken: auth.csrfToken(state) });
    }
    if (route === 'GET /admin' && auth.requireRole(state, res, 'admin')) return json(res, 200, { ok: true });
    if (route === 'POST /mutate' && auth.requireUser(state, res)) {
      return json(res, 200, { counter: ++b.counter.value });
    }
    if (route === 'POST /rotate' && auth.requireUser(state, res)) {
      return json(res, 200, { csrfToken: (await auth.rotate(state, res)).csrfToken });
    }
    if (!res.headersSent) json(res, 404, { error: 'not_found' });
  };
  // node:http has no error handling of its own: a thrown error must not take the process down.
  const server = createServer((req, res) => {
    handle(req, res).catch(() => (res.headersSent ? res.destroy() : json(res, 500, { error: 'internal' })));
  });
  return overHttp(server);
}

function honoApp(b: Backend): Promise<App> {
  const auth = createHonoAuth({
    sessions: b.sessions,
    users: b.store.users,
    trustProxy: b.trustProxy,
    remoteAddress: () => '127.0.0.1',
  });
  const app = new Hono<CloakroomEnv>();
  app.use(auth.middleware);
  app.post('/login', async (c) => {
    const { result, status } = await b.login(c.var.cloakroomRequest, await c.req.json());
    if (!result.ok) return c.json({ error: result.error }, status as 401);
    auth.adopt(c, result.issued);
    return c.json({
      user: result.user,
      csrfToken: result.issued.csrfToken,
      userOnRequest: c.var.user?.username ?? null,
    });
  });
  app.use(auth.csrf());
  app.post('/logout', auth.requireUser(), async (c) => {
    await auth.endSession(c);
    return c.body(null, 204);
  });
  app.get('/me', auth.requireUser(), (c) =>
    c.json({ user: c.var.user, session: c.var.session, csrfToken: b.sessions.csrfToken(c.var.session!) }),
  );
  app.get('/admin', auth.requireRole('admin'), (c) => c.json({ ok: true }));
  app.post('/mutate', auth.requireUser(), (c) => c.json({ counter: ++b.counter.value }));
  app.post('/rotate', auth.requireUser(), async (c) =>
    c.json({ csrfToken: (await auth.rotate(c)).csrfToken }),
  );
  return Promise.resolve({
    send: async (path, init) => {
      const { headers, cookie: _cookie, ...rest } = init;
      const res = await app.request(`${ORIGIN}${path}`, { ...rest, headers });
      const all: Record<string, unknown> = Object.fromEntries(res.headers);
      all['set-cookie'] = res.headers.getSetCookie();
      return toResponse(res.status, all, await res.text());
    },
    close: async () => {},
  });
}

async function backend(trustProxy: boolean): Promise<Backend & { dir: string; ids: AdapterHarness['ids'] }> {
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-adapter-'));
  const clock = manualClock(Date.now());
  const store = createSqliteStore({ path: join(dir, 'test.db'), clock, sweepIntervalMs: 0 });
  const sessions = createSessions({ secrets: [SECRET_A], store: store.sessions, clock });
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
    ids: { alice: alice.id, bob: bob.id },
    async login(request, body) {
      const result = await signIn(deps, request, (body ?? {}) as Record<string, unknown>);
      const status = result.ok
        ? 200
        : { invalid_credentials: 401, throttled: 429, bad_request: 400 }[result.error];
      return { result, status };
    },
  };
}

function harness(build: (b: Backend) => Promise<App>): AdapterFactory {
  return async (options = {}) => {
    const b = await backend(options.trustProxy ?? false);
    const app = await build(b);
    const request: AdapterHarness['request'] = (path, init = {}) => {
      const headers: Record<string, string> = { host: 'app.test', ...init.headers };
      if (init.cookie) headers.cookie = init.cookie;
      return app.send(path, { ...init, headers });
    };
    return {
      store: b.store,
      clock: b.clock,
      ids: b.ids,
      counter: b.counter,
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
      async close() {
        await app.close();
        await b.store.close();
        rmSync(b.dir, { recursive: true, force: true });
      },
    };
  };
}

/** The same app on each adapter; the behaviour suite runs against every one. */
export const adapterApps = {
  express: harness(expressApp),
  fastifyInject: harness(async (b) => fastifyInjectApp(b)),
  fastifyHttp: harness(async (b) => fastifyHttpApp(b)),
  node: harness(nodeApp),
  hono: harness(honoApp),
} satisfies Record<string, AdapterFactory>;
