/**
 * cloakroom through Express 5 (`cloakroom/express`, `createExpressAuth`), so the framework is
 * the same as the express-session peers'. Sessions in Redis (`cloakroom/redis`, keys prefixed
 * `bench-cx:`) on a node-redis client configured as docs/scaling.md advises
 * (`disableOfflineQueue: true`, `commandOptions: { timeout: 0 }`: the store's own timeout bounds each call); users in SQLite (`cloakroom/sqlite`), passed as `users`, so
 * every request also reads the user row (roles and locks apply on the very next request), as
 * the cloakroom server does. Imports the built package from `dist/` (the bench builds first).
 *
 * `GET /healthz` is registered before the middleware (the bare route); `GET /api/me` runs
 * `auth.middleware` + `auth.requireUser()` and returns the user id; `POST /api/login` starts a
 * session for the one user (no password check: only the session is measured). Started by
 * bench/http.bench.ts with PORT, REDIS_URL, BENCH_SECRET and BENCH_DATA_DIR.
 */
import { join } from 'node:path';
import express from 'express';
import { createClient } from 'redis';
import { createExpressAuth } from '../../dist/adapters/express/index.js';
import { createSessions } from '../../dist/index.js';
import { createRedisStore } from '../../dist/stores/redis/index.js';
import { createSqliteStore } from '../../dist/stores/sqlite/index.js';

const port = Number(process.env.PORT);

const client = createClient({
  url: process.env.REDIS_URL,
  disableOfflineQueue: true,
  commandOptions: { timeout: 0 },
  socket: { connectTimeout: 2_000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2_000) },
});
client.on('error', (error) => console.error('redis', error.message));
await client.connect();

const redis = createRedisStore({ client, prefix: 'bench-cx:' });
const sqlite = createSqliteStore({ path: join(process.env.BENCH_DATA_DIR ?? '.', 'users.db') });
const user = await sqlite.users.create(
  { username: 'bench', displayName: 'Bench', passwordHash: '$argon2id$unused', roles: [] },
  Date.now(),
);
const sessions = createSessions({ secrets: [process.env.BENCH_SECRET], store: redis.sessions });
const auth = createExpressAuth({ sessions, users: sqlite.users });

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
