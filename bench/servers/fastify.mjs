/**
 * Peer: Fastify 5 + @fastify/cookie + @fastify/session with its default in-memory store.
 * `GET /healthz` is the bare route, registered outside the encapsulated plugin that holds
 * cookie + session, so no session hook runs for it; `GET /api/me` reads `userId` from the
 * session; `POST /api/login` regenerates the session and sets `userId` (no password check:
 * only the session is measured). Options are the defaults except a plain-HTTP cookie
 * (`secure: false`) and a 30-minute maxAge. Started by bench/http.bench.ts with PORT.
 */
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';

const port = Number(process.env.PORT);
const app = Fastify({ logger: false });

app.get('/healthz', async () => ({ status: 'ok' }));

app.register(async (scope) => {
  await scope.register(fastifyCookie);
  await scope.register(fastifySession, {
    secret: 'bench-only-secret-bench-only-secret-0123456789',
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: false, maxAge: 30 * 60 * 1000 },
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
