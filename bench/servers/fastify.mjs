/**
 * Peer: Fastify 5 + @fastify/cookie + @fastify/session. BENCH_STORE=memory (default) is its
 * default in-memory store; BENCH_STORE=sqlite is better-sqlite3-session-store (an
 * express-session store, which @fastify/session accepts) on a better-sqlite3 file with the same
 * journal settings as cloakroom's store; BENCH_STORE=redis is connect-redis 9 on REDIS_URL
 * (prefix `bench-fastify-session:`), as express-session's Redis peer.
 * `GET /healthz` is the bare route, registered outside the encapsulated plugin that holds
 * cookie + session, so no session hook runs for it; `GET /api/me` reads `userId` from the
 * session; `POST /api/login` regenerates the session and sets `userId` (no password check:
 * only the session is measured). Options are the defaults except a plain-HTTP cookie
 * (`secure: false`) and a 30-minute maxAge. Started by bench/http.bench.ts with PORT.
 */
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import { peerStore } from './peer-store.mjs';

const port = Number(process.env.PORT);
const store = await peerStore('bench-fastify-session:');
const app = Fastify({ logger: false });

app.get('/healthz', async () => ({ status: 'ok' }));

app.register(async (scope) => {
  await scope.register(fastifyCookie);
  await scope.register(fastifySession, {
    secret: 'bench-only-secret-bench-only-secret-0123456789',
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: false, maxAge: 30 * 60 * 1000 },
    ...(store ? { store } : {}),
  });
  scope.post('/api/login', async (request) => {
    await request.session.regenerate();
    request.session.set('userId', 'u1');
    return { user: { id: 'u1' } };
  });
  scope.get('/api/me', async (request, reply) => {
    const userId = request.session.get('userId');
    if (!userId) return reply.code(401).send({ error: 'unauthenticated' });
    return { user: { id: userId } };
  });
});

await app.listen({ port, host: '127.0.0.1' });
