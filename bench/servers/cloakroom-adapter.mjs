/**
 * cloakroom as a library user runs it: one adapter with its defaults (BENCH_FRAMEWORK = hono,
 * express, fastify or node) on one store (BENCH_STORE = memory, sqlite or redis). The adapter is
 * built with `{ sessions, users }` and nothing else, so every request also reads the user (roles
 * and locks apply on the very next request) and every signed-in answer is `no-store`, as by
 * default. Sessions: `cloakroom/memory`, `cloakroom/sqlite` (a file in BENCH_DATA_DIR) or
 * `cloakroom/redis` (prefix `bench-cr-<framework>:`, node-redis client with `disableOfflineQueue` and
 * `commandOptions: { timeout: 0 }`, as docs/scaling.md advises). Users: the memory store's for
 * memory, SQLite's otherwise. Imports the packages by name (their built `dist/`).
 *
 * `GET /healthz` answers before the adapter runs (the bare route of the same app); `GET /api/me`
 * runs the adapter and `requireUser` and returns the user id; `POST /api/login` starts a session
 * for the one user (no password check: only the session is measured). Started by
 * bench/http.bench.ts with PORT, BENCH_SECRET, BENCH_DATA_DIR and, for Redis, REDIS_URL.
 */
import { createServer } from 'node:http';
import { join } from 'node:path';
import { createSessions } from 'cloakroom';

const port = Number(process.env.PORT);
const framework = process.env.BENCH_FRAMEWORK ?? 'hono';
const kind = process.env.BENCH_STORE ?? 'memory';

let sessionStore;
let userStore;
if (kind === 'memory') {
  const { createMemoryStore, createMemoryUserStore } = await import('cloakroom/memory');
  sessionStore = createMemoryStore();
  userStore = createMemoryUserStore();
} else if (kind === 'sqlite' || kind === 'redis') {
  const { createSqliteStore } = await import('cloakroom/sqlite');
  const store = createSqliteStore({ path: join(process.env.BENCH_DATA_DIR ?? '.', 'app.db') });
  sessionStore = store.sessions;
  userStore = store.users;
  if (kind === 'redis') {
    const { createClient } = await import('redis');
    const { createRedisStore } = await import('cloakroom/redis');
    const client = createClient({
      url: process.env.REDIS_URL,
      disableOfflineQueue: true,
      commandOptions: { timeout: 0 },
      socket: { connectTimeout: 2_000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2_000) },
    });
    client.on('error', (error) => console.error('redis', error.message));
    await client.connect();
    sessionStore = createRedisStore({ client, prefix: `bench-cr-${framework}:` }).sessions;
  }
} else {
  throw new Error(`BENCH_STORE must be memory, sqlite or redis, got ${kind}`);
}

const user = await userStore.create(
  {
    username: 'bench',
    usernameKey: 'bench',
    displayName: 'Bench',
    passwordHash: '$argon2id$unused',
    roles: [],
  },
  Date.now(),
);
const sessions = createSessions({ secrets: [process.env.BENCH_SECRET], store: sessionStore });
const options = { sessions, users: userStore };
const healthy = JSON.stringify({ status: 'ok' });

if (framework === 'hono') {
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const { createHonoAuth } = await import('cloakroom/hono');
  const auth = createHonoAuth(options);
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.use('/api/*', auth.middleware);
  app.post('/api/login', async (c) => {
    await auth.startSession(c, { userId: user.id });
    return c.json({ user: { id: user.id } });
  });
  app.get('/api/me', auth.requireUser(), (c) => c.json({ user: { id: c.get('user').id } }));
  serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
} else if (framework === 'express') {
  const { default: express } = await import('express');
  const { createExpressAuth } = await import('cloakroom/express');
  const auth = createExpressAuth(options);
  const app = express();
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(auth.middleware);
  app.post('/api/login', async (req, res, next) => {
    try {
      await auth.startSession(req, res, { userId: user.id });
      res.json({ user: { id: user.id } });
    } catch (error) {
      next(error);
    }
  });
  app.get('/api/me', auth.requireUser(), (req, res) => {
    res.json({ user: { id: req.cloakroom.user.id } });
  });
  app.listen(port, '127.0.0.1');
} else if (framework === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const { cloakroomPlugin, requireUser, startSession } = await import('cloakroom/fastify');
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.register(async (scope) => {
    await scope.register(cloakroomPlugin, options);
    scope.post('/api/login', async (request, reply) => {
      await startSession(request, reply, { userId: user.id });
      return { user: { id: user.id } };
    });
    scope.get('/api/me', { preHandler: requireUser() }, async (request) => ({
      user: { id: request.cloakroom.user.id },
    }));
  });
  await app.listen({ port, host: '127.0.0.1' });
} else if (framework === 'node') {
  const { createNodeAuth } = await import('cloakroom/node');
  const auth = createNodeAuth(options);
  const send = (res, body) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(body);
  };
  const app = auth.handle(async (req, res, state) => {
    if (req.method === 'POST' && req.url === '/api/login') {
      await auth.startSession(state, res, { userId: user.id });
      return send(res, JSON.stringify({ user: { id: user.id } }));
    }
    if (req.url === '/api/me') {
      if (!auth.requireUser(state, res)) return;
      return send(res, JSON.stringify({ user: { id: state.user.id } }));
    }
    res.writeHead(404).end();
  });
  createServer((req, res) => {
    if (req.url === '/healthz') return send(res, healthy);
    app(req, res).catch((error) => {
      console.error(error);
      if (!res.headersSent) res.writeHead(500).end();
    });
  }).listen(port, '127.0.0.1');
} else {
  throw new Error(`BENCH_FRAMEWORK must be hono, express, fastify or node, got ${framework}`);
}
