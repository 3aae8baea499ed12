/**
 * Peer: Express 5 + express-session. BENCH_STORE=memory uses express-session's default
 * MemoryStore (what its docs say not to deploy, but the usual starting point);
 * BENCH_STORE=sqlite uses better-sqlite3-session-store on a better-sqlite3 file with the same
 * journal settings as cloakroom's store; BENCH_STORE=redis uses connect-redis 9 (`RedisStore`
 * on a node-redis client, as its README shows: default client options, its default TTL and
 * touch) on REDIS_URL, keys prefixed `bench-express:`. Session options are the usual ones:
 * `resave: false`, `saveUninitialized: false`, `rolling: false` (the default), a 30-minute
 * cookie `maxAge`. `GET /healthz` is registered before the session
 * middleware, so it is the bare route of the same app; `GET /api/me` reads
 * `req.session.userId`; `POST /api/login` regenerates the session and sets `userId` (no
 * password check: only the session is measured). Started by bench/http.bench.ts.
 */
import express from 'express';
import session from 'express-session';
import { peerStore } from './peer-store.mjs';

const port = Number(process.env.PORT);
const store = await peerStore('bench-express:');

const app = express();
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});
app.use(
  session({
    secret: 'bench-only-secret-bench-only-secret-0123456789',
    name: 'sid',
    resave: false,
    saveUninitialized: false,
    rolling: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: false, maxAge: 30 * 60 * 1000 },
    ...(store ? { store } : {}),
  }),
);
app.post('/api/login', (req, res, next) => {
  req.session.regenerate((error) => {
    if (error) return next(error);
    req.session.userId = 'u1';
    req.session.save((saveError) => (saveError ? next(saveError) : res.json({ user: { id: 'u1' } })));
  });
});
app.get('/api/me', (req, res) => {
  const userId = req.session.userId;
  if (!userId) return res.status(401).json({ error: 'unauthenticated' });
  res.json({ user: { id: userId } });
});
app.listen(port, '127.0.0.1');
