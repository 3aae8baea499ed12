import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import express5 from 'express';
import express4 from 'express4';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createExpressAuth } from '../../packages/cloakroom/src/adapters/express/index.js';
import {
  adopt,
  cloakroomPlugin,
  csrf,
  csrfToken,
  endSession,
  loginCsrf,
  loginToken,
  reauthenticate,
  requireRecentAuth,
  requireRole,
  requireUser,
  rotate,
} from '../../packages/cloakroom/src/adapters/fastify/index.js';
import { type CloakroomEnv, createHonoAuth } from '../../packages/cloakroom/src/adapters/hono/index.js';
import { createNodeAuth } from '../../packages/cloakroom/src/adapters/node/index.js';
import {
  type AdapterFactory,
  type App,
  type Backend,
  BODY_LIMIT,
  harness,
  ORIGIN,
  overHttp,
  toResponse,
} from './adapter-harness.js';

// The same small app on each adapter, written the way docs/adapters.md shows: GET /login-form
// (a login token), POST /login (behind loginCsrf), POST /logout, GET /me, GET /admin (role
// admin), GET /private-cache (sets its own Cache-Control), POST /mutate (a counter), POST /rotate,
// GET /recent, /recent-1m, /recent-30m (requireRecentAuth with the default window, '1m', 1800 s)
// and POST /reauth (reauthenticate with methods ['pwd', 'otp']: where a real app first checks the
// password or a code, the test stands in for that proof).
// And POST /auth/dbsc/register and /auth/dbsc/refresh, which count in `dbscRouteHits` and answer
// 418: with `dbsc` on the adapter answers those paths itself and these routes must never run; with
// it off they run like any route.
// Bodies over BODY_LIMIT are refused: by the framework's parser where it has one (Express,
// Fastify), by the app where it parses bodies itself (Hono, node:http).

type ExpressModule = typeof express5;

function expressApp(b: Backend, express: ExpressModule): Promise<App> {
  const auth = createExpressAuth({
    sessions: b.sessions,
    users: b.store.users,
    trustProxy: b.trustProxy,
    onDbsc: b.onDbsc,
  });
  // Express 4 leaves a rejected promise unhandled; Express 5 forwards it. This works on both.
  type Handler = (req: express5.Request, res: express5.Response) => Promise<void>;
  const route =
    (handler: Handler): express5.RequestHandler =>
    (req, res, next) =>
      void handler(req, res).catch(next);
  const app = express();
  app.disable('x-powered-by');
  app.use(
    express.json({ limit: BODY_LIMIT }),
    express.urlencoded({ extended: false, limit: BODY_LIMIT }),
    auth.middleware,
  );
  app.get('/login-form', (req, res) => void res.json({ token: auth.loginToken(req, res) }));
  for (const path of DBSC_ROUTES) {
    app.post(path, (_req, res) => void res.status(418).json(appRouteRan(b)));
  }
  // Sign-in comes before csrf(): it replaces whatever session the request carries.
  app.post(
    '/login',
    auth.loginCsrf(),
    route(async (req, res) => {
      const answer = await b.login(req.cloakroom.request, req.body);
      if (!answer.ok) return void res.status(answer.status).set(answer.headers).json(answer.body);
      auth.adopt(req, res, answer.result.issued);
      res.json({
        user: answer.result.user,
        csrfToken: answer.result.issued.csrfToken,
        userOnRequest: req.cloakroom.user?.username ?? null,
      });
    }),
  );
  app.use(auth.csrf());
  app.post(
    '/logout',
    auth.requireUser(),
    route(async (req, res) => {
      await auth.endSession(req, res);
      res.status(204).end();
    }),
  );
  app.get('/me', auth.requireUser(), (req, res) => {
    const { user, session } = req.cloakroom;
    res.json({ user, session, csrfToken: auth.csrfToken(req) });
  });
  app.get('/admin', auth.requireRole('admin'), (_req, res) => void res.json({ ok: true }));
  app.get('/private-cache', auth.requireUser(), (_req, res) => {
    res.set('cache-control', 'private, max-age=60').json({ ok: true });
  });
  app.post('/mutate', auth.requireUser(), (_req, res) => void res.json({ counter: ++b.counter.value }));
  app.post(
    '/rotate',
    auth.requireUser(),
    route(async (req, res) => void res.json({ csrfToken: (await auth.rotate(req, res)).csrfToken })),
  );
  app.get('/recent', auth.requireRecentAuth(), (_req, res) => void res.json({ ok: true }));
  app.get('/recent-1m', auth.requireRecentAuth('1m'), (_req, res) => void res.json({ ok: true }));
  app.get('/recent-30m', auth.requireRecentAuth(1800), (_req, res) => void res.json({ ok: true }));
  app.post(
    '/reauth',
    auth.requireUser(),
    route(async (req, res) => {
      const issued = await auth.reauthenticate(req, res, { methods: REAUTH_METHODS });
      res.json({ csrfToken: issued.csrfToken });
    }),
  );
  app.use(auth.errorHandler);
  return overHttp(createServer(app));
}

async function fastifyApp(b: Backend): Promise<FastifyInstance> {
  const app = Fastify({ bodyLimit: BODY_LIMIT });
  // What @fastify/formbody does, in three lines: Fastify parses only JSON and text by itself. A
  // querystring parser, as formbody's, keeps a repeated field as a list.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, parseQuery(body as string)),
  );
  await app.register(cloakroomPlugin, {
    sessions: b.sessions,
    users: b.store.users,
    trustProxy: b.trustProxy,
    onDbsc: b.onDbsc,
  });
  app.get('/login-form', async (request, reply) => ({ token: loginToken(request, reply) }));
  for (const path of DBSC_ROUTES) {
    app.post(path, async (_request, reply) => reply.code(418).send(appRouteRan(b)));
  }
  app.post('/login', { preHandler: loginCsrf() }, async (request, reply) => {
    const answer = await b.login(request.cloakroom.request, request.body);
    if (!answer.ok) return reply.code(answer.status).headers(answer.headers).send(answer.body);
    adopt(request, reply, answer.result.issued);
    return {
      user: answer.result.user,
      csrfToken: answer.result.issued.csrfToken,
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
      return { user, session, csrfToken: csrfToken(request) };
    });
    scope.get('/admin', { preHandler: requireRole('admin') }, async () => ({ ok: true }));
    scope.get('/private-cache', { preHandler: requireUser() }, async (_request, reply) =>
      reply.header('cache-control', 'private, max-age=60').send({ ok: true }),
    );
    scope.post('/mutate', { preHandler: requireUser() }, async () => ({ counter: ++b.counter.value }));
    scope.post('/rotate', { preHandler: requireUser() }, async (request, reply) => ({
      csrfToken: (await rotate(request, reply)).csrfToken,
    }));
    scope.get('/recent', { preHandler: requireRecentAuth() }, async () => ({ ok: true }));
    scope.get('/recent-1m', { preHandler: requireRecentAuth('1m') }, async () => ({ ok: true }));
    scope.get('/recent-30m', { preHandler: requireRecentAuth(1800) }, async () => ({ ok: true }));
    scope.post('/reauth', { preHandler: requireUser() }, async (request, reply) => ({
      csrfToken: (await reauthenticate(request, reply, { methods: REAUTH_METHODS })).csrfToken,
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
  const auth = createNodeAuth({
    sessions: b.sessions,
    users: b.store.users,
    trustProxy: b.trustProxy,
    onDbsc: b.onDbsc,
  });
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(body));
  // Guards made once, with the app: their windows are parsed here, not per request.
  const recent = {
    'GET /recent': auth.requireRecentAuth(),
    'GET /recent-1m': auth.requireRecentAuth('1m'),
    'GET /recent-30m': auth.requireRecentAuth(1800),
  };

  const handle = auth.handle(async (req, res, state) => {
    const raw = await readBody(req, BODY_LIMIT);
    if (raw === null) return json(res, 413, { error: 'payload_too_large' });
    const form = new URLSearchParams(raw);
    const route = `${req.method} ${new URL(req.url ?? '/', ORIGIN).pathname}`;
    if (route === 'GET /login-form') return json(res, 200, { token: auth.loginToken(state, res) });
    if (DBSC_ROUTES.some((path) => route === `POST ${path}`)) return json(res, 418, appRouteRan(b));
    if (route === 'POST /login') {
      if (!auth.loginCsrf(state, res, form)) return;
      const body = (req.headers['content-type'] ?? '').startsWith('application/json')
        ? parseJson(raw)
        : Object.fromEntries(form);
      if (body === undefined) return json(res, 400, { error: 'bad_request' });
      const answer = await b.login(state.request, body);
      if (!answer.ok) return json(res, answer.status, answer.body, answer.headers);
      auth.adopt(state, res, answer.result.issued);
      return json(res, 200, {
        user: answer.result.user,
        csrfToken: answer.result.issued.csrfToken,
        userOnRequest: state.user?.username ?? null,
      });
    }
    if (!auth.csrf(state, res, form)) return;
    if (route === 'POST /logout' && auth.requireUser(state, res)) {
      await auth.endSession(state, res);
      return void res.writeHead(204).end();
    }
    if (route === 'GET /me' && auth.requireUser(state, res)) {
      return json(res, 200, { user: state.user, session: state.session, csrfToken: auth.csrfToken(state) });
    }
    if (route === 'GET /admin' && auth.requireRole(state, res, 'admin')) return json(res, 200, { ok: true });
    if (route === 'GET /private-cache' && auth.requireUser(state, res)) {
      return json(res, 200, { ok: true }, { 'cache-control': 'private, max-age=60' });
    }
    if (route === 'POST /mutate' && auth.requireUser(state, res)) {
      return json(res, 200, { counter: ++b.counter.value });
    }
    if (route === 'POST /rotate' && auth.requireUser(state, res)) {
      return json(res, 200, { csrfToken: (await auth.rotate(state, res)).csrfToken });
    }
    if (Object.hasOwn(recent, route)) {
      // A guard that refuses has answered (401/403) already.
      if (recent[route as keyof typeof recent](state, res)) json(res, 200, { ok: true });
      return;
    }
    if (route === 'POST /reauth' && auth.requireUser(state, res)) {
      const issued = await auth.reauthenticate(state, res, { methods: REAUTH_METHODS });
      return json(res, 200, { csrfToken: issued.csrfToken });
    }
    if (!res.headersSent) json(res, 404, { error: 'not_found' });
  });
  // handle() answers store failures itself; anything else must not take the process down.
  const server = createServer((req, res) => {
    handle(req, res).catch(() => (res.headersSent ? res.destroy() : json(res, 500, { error: 'internal' })));
  });
  return overHttp(server);
}

/** The body as text; `null` once it is larger than `limit` bytes (the rest is read and dropped). */
async function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  return size <= limit ? Buffer.concat(chunks).toString('utf8') : null;
}

/** `undefined` for malformed JSON (the caller answers 400). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function honoApp(b: Backend): Promise<App> {
  const auth = createHonoAuth({
    sessions: b.sessions,
    users: b.store.users,
    trustProxy: b.trustProxy,
    remoteAddress: () => '127.0.0.1',
    onDbsc: b.onDbsc,
  });
  const app = new Hono<CloakroomEnv>();
  app.use(bodyLimit({ maxSize: BODY_LIMIT, onError: (c) => c.json({ error: 'payload_too_large' }, 413) }));
  app.use(auth.middleware);
  app.get('/login-form', (c) => c.json({ token: auth.loginToken(c) }));
  for (const path of DBSC_ROUTES) app.post(path, (c) => c.json(appRouteRan(b), 418));
  app.post('/login', auth.loginCsrf(), async (c) => {
    const isJson = (c.req.header('content-type') ?? '').startsWith('application/json');
    // Malformed JSON is the client's mistake (400), not the server's (500).
    const body = isJson ? await c.req.json().catch(() => undefined) : await c.req.parseBody();
    if (body === undefined) return c.json({ error: 'bad_request' }, 400);
    const answer = await b.login(c.var.cloakroomRequest, body);
    if (!answer.ok) return c.json(answer.body, answer.status as 401, answer.headers);
    auth.adopt(c, answer.result.issued);
    return c.json({
      user: answer.result.user,
      csrfToken: answer.result.issued.csrfToken,
      userOnRequest: c.var.user?.username ?? null,
    });
  });
  app.use(auth.csrf());
  app.post('/logout', auth.requireUser(), async (c) => {
    await auth.endSession(c);
    return c.body(null, 204);
  });
  app.get('/me', auth.requireUser(), (c) =>
    c.json({ user: c.var.user, session: c.var.session, csrfToken: auth.csrfToken(c) }),
  );
  app.get('/admin', auth.requireRole('admin'), (c) => c.json({ ok: true }));
  app.get('/private-cache', auth.requireUser(), (c) =>
    c.json({ ok: true }, 200, { 'cache-control': 'private, max-age=60' }),
  );
  app.post('/mutate', auth.requireUser(), (c) => c.json({ counter: ++b.counter.value }));
  app.post('/rotate', auth.requireUser(), async (c) =>
    c.json({ csrfToken: (await auth.rotate(c)).csrfToken }),
  );
  app.get('/recent', auth.requireRecentAuth(), (c) => c.json({ ok: true }));
  app.get('/recent-1m', auth.requireRecentAuth('1m'), (c) => c.json({ ok: true }));
  app.get('/recent-30m', auth.requireRecentAuth(1800), (c) => c.json({ ok: true }));
  app.post('/reauth', auth.requireUser(), async (c) =>
    c.json({ csrfToken: (await auth.reauthenticate(c, { methods: REAUTH_METHODS })).csrfToken }),
  );
  return Promise.resolve({
    send: async (path, init) => {
      const { headers: fields, cookie: _cookie, ...rest } = init;
      // What @hono/node-server hands Hono: every header line, and the body's length as sent.
      const headers = new Headers();
      for (const [name, value] of Object.entries(fields)) {
        for (const line of [value].flat()) headers.append(name, line);
      }
      if (rest.body !== undefined) headers.set('content-length', String(Buffer.byteLength(rest.body)));
      const res = await app.request(`${ORIGIN}${path}`, { ...rest, headers });
      const all: Record<string, unknown> = Object.fromEntries(res.headers);
      all['set-cookie'] = res.headers.getSetCookie();
      return toResponse(res.status, all, await res.text());
    },
    close: async () => {},
  });
}

/** The default DBSC paths, where each app has a route of its own that must not run with `dbsc` on. */
export const DBSC_ROUTES = ['/auth/dbsc/register', '/auth/dbsc/refresh'];

/** What an app's own route at a DBSC path does: counts, and says so. */
function appRouteRan(b: Backend): { error: string } {
  b.dbscRouteHits.value++;
  return { error: 'app_route' };
}

/** The methods POST /reauth records: a proof other than the sign-in's, to see them replaced. */
export const REAUTH_METHODS = ['pwd', 'otp'];

/** The same app on each adapter; the behaviour suite runs against every one. */
export const adapterApps = {
  express: harness((b) => expressApp(b, express5)),
  // Express 4 through the `express4` npm alias: the peer range promises ^4.17 || ^5.
  express4: harness((b) => expressApp(b, express4)),
  fastifyInject: harness(async (b) => fastifyInjectApp(b)),
  fastifyHttp: harness(async (b) => fastifyHttpApp(b)),
  node: harness(nodeApp),
  hono: harness(honoApp),
} satisfies Record<string, AdapterFactory>;
