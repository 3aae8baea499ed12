// A JSON API on Fastify 5 with cloakroom, and a single-page app (plain HTML + one external
// script, no build step) that signs in and then sends the `X-CSRF-Token` from the sign-in answer.
//
//   npx tsx examples/fastify-spa/server.ts
//
// It imports cloakroom by its package names, as your project would; in this repository they
// resolve to the built package (`npm run build` first).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AccountError, createAccount, createSessions, createThrottle, signIn } from 'cloakroom';
import {
  adopt,
  cloakroomPlugin,
  csrf,
  csrfToken,
  endSession,
  loginCsrf,
  requireUser,
} from 'cloakroom/fastify';
import { createPasswordHasher } from 'cloakroom/passwords';
import { createSqliteStore } from 'cloakroom/sqlite';
import Fastify from 'fastify';

const PORT = Number(process.env.PORT ?? 3000);
const HOST = process.env.HOST ?? '127.0.0.1';
const DATA_DIR = process.env.EXAMPLE_DATA_DIR ?? fileURLToPath(new URL('./data/', import.meta.url));
const DEMO_USER = 'demo';
const DEMO_PASSWORD = 'harbour-lantern-42';

const secrets = process.env.CLOAKROOM_SECRETS?.split(',') ?? [randomBytes(32).toString('base64url')];
if (!process.env.CLOAKROOM_SECRETS) console.warn('CLOAKROOM_SECRETS not set: using a throw-away secret');

const store = createSqliteStore({ path: `${DATA_DIR}/app.db` });
const sessions = createSessions({ secrets, store: store.sessions });
const passwords = createPasswordHasher();
const throttle = createThrottle({ counters: store.counters });
const signInDeps = { sessions, users: store.users, passwords, throttle };

try {
  await createAccount(store.users, passwords, { username: DEMO_USER, password: DEMO_PASSWORD }, Date.now());
} catch (error) {
  if (!(error instanceof AccountError && error.code === 'taken')) throw error;
}

// The single-page app: three static files, read once.
const PUBLIC = new URL('./public/', import.meta.url);
const files: Record<string, { type: string; body: string }> = {
  '/': { type: 'text/html; charset=utf-8', body: readFileSync(new URL('index.html', PUBLIC), 'utf8') },
  '/app.js': {
    type: 'text/javascript; charset=utf-8',
    body: readFileSync(new URL('app.js', PUBLIC), 'utf8'),
  },
  '/style.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('style.css', PUBLIC), 'utf8') },
};

const app = Fastify({ bodyLimit: 16 * 1024 });
// No inline script anywhere: the page's code is /app.js, allowed by script-src 'self'.
app.addHook('onSend', async (_request, reply) => {
  reply.header(
    'content-security-policy',
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  );
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'same-origin');
});
// The plugin also answers a StoreError from a handler (the store down mid-request) with 503.
await app.register(cloakroomPlugin, { sessions, users: store.users });

for (const [path, file] of Object.entries(files)) {
  app.get(path, async (_request, reply) => reply.type(file.type).send(file.body));
}
app.get('/favicon.ico', async (_request, reply) => reply.code(204).send());

// Sign-in: JSON. Login CSRF is loginCsrf(): the origin gate (a browser always sends Origin on a
// cross-site POST), and a login token for any non-JSON body, which this app never sends. The
// answer carries the CSRF token the app sends back as X-CSRF-Token.
app.post('/api/login', { preHandler: loginCsrf() }, async (request, reply) => {
  const body = typeof request.body === 'object' && request.body !== null ? request.body : {};
  const result = await signIn(signInDeps, request.cloakroom.request, body);
  if (!result.ok) {
    if (result.error === 'throttled' || result.error === 'busy') {
      const status = result.error === 'busy' ? 503 : 429;
      return reply.code(status).header('retry-after', result.retryAfterSeconds).send({ error: result.error });
    }
    return reply.code(result.error === 'bad_request' ? 400 : 401).send({ error: result.error });
  }
  adopt(request, reply, result.issued);
  return { user: result.user, csrfToken: result.issued.csrfToken };
});

// Everything in this scope is CSRF-checked: unsafe methods need the X-CSRF-Token header.
await app.register(async (api) => {
  api.addHook('preHandler', csrf());

  // The app calls this on load: a reload keeps the session and gets a fresh token.
  // A signed-in answer is `Cache-Control: no-store` (the plugin sees to it).
  api.get('/api/me', { preHandler: requireUser() }, async (request) => {
    const session = request.cloakroom.session!;
    return {
      user: request.cloakroom.user,
      csrfToken: csrfToken(request),
      clicks: typeof session.data.clicks === 'number' ? session.data.clicks : 0,
    };
  });

  // A state change: counted in the session's data (key by key, no lost updates between keys).
  api.post('/api/clicks', { preHandler: requireUser() }, async (request) => {
    const session = request.cloakroom.session!;
    const clicks = (typeof session.data.clicks === 'number' ? session.data.clicks : 0) + 1;
    await sessions.updateData(session, { set: { clicks } });
    return { clicks };
  });

  api.post('/api/logout', { preHandler: requireUser() }, async (request, reply) => {
    await endSession(request, reply);
    return reply.code(204).send();
  });
});

const address = await app.listen({ port: PORT, host: HOST });
console.log(`fastify-spa example listening on ${address} (sign in as ${DEMO_USER} / ${DEMO_PASSWORD})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app
      .close()
      .then(() => store.close())
      .then(() => process.exit(0));
  });
}
