// Passkeys (WebAuthn) on Hono with cloakroom: a JSON API and a single page (plain HTML + one
// external script) that signs in with a password or with a passkey alone, adds and removes
// passkeys, and asks a user who has one for it after their password.
//
//   npx tsx examples/hono-passkeys/server.ts      then open http://localhost:3000
//
// It imports cloakroom by its package names, as your project would; in this repository they
// resolve to the built package (`npm run build` first).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import {
  type AccountDeps,
  AccountError,
  type AccountFailure,
  completeSignIn,
  createAccount,
  createSecondFactor,
  createSessions,
  createThrottle,
  type Issued,
  signIn,
  type User,
} from 'cloakroom';
import { type CloakroomEnv, createHonoAuth } from 'cloakroom/hono';
import {
  beginPasskeyRegistration,
  beginPasskeySecondFactor,
  beginPasskeySignIn,
  createPasskeys,
  finishPasskeyRegistration,
  finishPasskeySecondFactor,
  finishPasskeySignIn,
  listPasskeys,
  type PasskeyInfo,
  removePasskey,
} from 'cloakroom/passkeys';
import { createPasswordHasher } from 'cloakroom/passwords';
import { createSqliteStore } from 'cloakroom/sqlite';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

const PORT = Number(process.env.PORT ?? 3000);
const HOST = process.env.HOST ?? '127.0.0.1';
// The origin in the browser's address bar. A passkey belongs to its host (the relying party ID),
// which cannot be an IP address: open http://localhost:PORT, not http://127.0.0.1:PORT.
const ORIGIN = process.env.EXAMPLE_ORIGIN ?? `http://localhost:${PORT}`;
const DATA_DIR = process.env.EXAMPLE_DATA_DIR ?? fileURLToPath(new URL('./data/', import.meta.url));
const DEMO_USER = 'demo';
const DEMO_PASSWORD = 'harbour-lantern-42';

if (PORT === 0 && !process.env.EXAMPLE_ORIGIN) {
  console.error('hono-passkeys example: PORT=0 needs EXAMPLE_ORIGIN (passkeys are bound to the origin)');
  process.exit(1);
}

const secrets = process.env.CLOAKROOM_SECRETS?.split(',') ?? [randomBytes(32).toString('base64url')];
if (!process.env.CLOAKROOM_SECRETS) console.warn('CLOAKROOM_SECRETS not set: using a throw-away secret');

const store = createSqliteStore({ path: `${DATA_DIR}/app.db` });
const sessions = createSessions({ secrets, store: store.sessions });
// Everything the account actions need, built once. It is also all that signIn needs.
const account: AccountDeps = {
  users: store.users,
  sessions,
  passwords: createPasswordHasher(),
  throttle: createThrottle({ counters: store.counters }),
  // One JSON line per event: login.passkey, passkey.registered, passkey.failure, …
  audit: (event, fields) => console.log(JSON.stringify({ time: new Date().toISOString(), event, ...fields })),
  // completeSignIn needs it to take the recovery codes a first passkey comes with: passkeys alone
  // work without it, but those codes would then be useless.
  secondFactor: createSecondFactor({ secrets, counters: store.counters, issuer: 'cloakroom example' }),
  // The relying party: where a passkey may be used. Its challenges live in the counter store,
  // single use, so any instance could finish a ceremony another began.
  passkeys: createPasskeys({ origins: [ORIGIN], rpName: 'cloakroom example', counters: store.counters }),
};

try {
  await createAccount(
    store.users,
    account.passwords,
    { username: DEMO_USER, password: DEMO_PASSWORD },
    Date.now(),
  );
} catch (error) {
  if (!(error instanceof AccountError && error.code === 'taken')) throw error;
}

// The page: three static files, read once.
const PUBLIC = new URL('./public/', import.meta.url);
const files: Record<string, { type: string; body: string }> = {
  '/': { type: 'text/html; charset=utf-8', body: readFileSync(new URL('index.html', PUBLIC), 'utf8') },
  '/app.js': {
    type: 'text/javascript; charset=utf-8',
    body: readFileSync(new URL('app.js', PUBLIC), 'utf8'),
  },
  '/style.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('style.css', PUBLIC), 'utf8') },
};

/** The JSON object the page sent, or `{}` for anything else (the use cases then refuse it). */
async function body(c: Context): Promise<Record<string, unknown>> {
  const value: unknown = await c.req.json().catch(() => null);
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

// The status of each refusal, as the cloakroom server answers them.
const STATUS: Record<AccountFailure['error'], ContentfulStatusCode> = {
  invalid: 400,
  taken: 409,
  not_found: 404,
  last_admin: 409,
  wrong_password: 401,
  conflict: 409,
  closed: 404,
  reauth_required: 403,
  invalid_code: 401,
  pending_expired: 401,
  not_enrolled: 409,
  already_enrolled: 409,
  invalid_passkey: 401,
  ceremony_expired: 401,
  throttled: 429,
};

function refused(c: Context, failure: AccountFailure, registering = false) {
  if (failure.error === 'throttled') c.header('retry-after', String(failure.retryAfterSeconds));
  // Adding a passkey, the user is signed in already: a response that does not verify is a bad
  // request there, not the failed sign-in a 401 would say.
  const passkey = failure.error === 'invalid_passkey' || failure.error === 'ceremony_expired';
  const status = registering && passkey ? 400 : STATUS[failure.error];
  return c.json({ error: failure.error, message: failure.message }, status);
}

/** A passkey as the page shows it: never the key or the counter. */
const passkeyJson = (info: PasskeyInfo) => ({
  id: info.id,
  name: info.name,
  createdAt: new Date(info.createdAt).toISOString(),
  lastUsedAt: info.lastUsedAt === null ? null : new Date(info.lastUsedAt).toISOString(),
  synced: info.backedUp,
});

const auth = createHonoAuth({ sessions, users: store.users });
const app = new Hono<CloakroomEnv>();

// No inline script anywhere: the page's code is /app.js, allowed by default-src 'self'.
app.use(async (c, next) => {
  c.header(
    'content-security-policy',
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  );
  c.header('x-content-type-options', 'nosniff');
  c.header('referrer-policy', 'same-origin');
  await next();
});
// A registration response is a few KiB; nothing this API takes is larger than 32.
app.use('/api/*', bodyLimit({ maxSize: 32 * 1024, onError: (c) => c.json({ error: 'too_large' }, 413) }));
app.use(auth.middleware);

for (const [path, file] of Object.entries(files)) {
  app.get(path, (c) => c.body(file.body, 200, { 'content-type': file.type }));
}
app.get('/favicon.ico', (c) => c.body(null, 204));

/** A sign-in that made a session: the cookie, and the CSRF token the page sends from now on. */
function signedIn(c: Context<CloakroomEnv>, done: { user: User; issued: Issued }) {
  auth.adopt(c, done.issued); // also clears the pending or ceremony cookie the sign-in used
  return c.json({ user: done.user, csrfToken: done.issued.csrfToken });
}

// The sign-in routes come before csrf() (there is no session yet; they replace any), each behind
// loginCsrf(): refused when Origin or Sec-Fetch-Site shows another site, and for a body that is
// not JSON (a form or text/plain, which any site can post). The page only ever sends JSON: `{}`
// to a begin step, whose body is otherwise unused.

// Step one, the password. A user with a passkey gets no session from it, only a pending cookie.
app.post('/api/login', auth.loginCsrf(), async (c) => {
  const { username, password } = await body(c);
  const result = await signIn(account, c.var.cloakroomRequest, { username, password });
  if (result.ok) return signedIn(c, result);
  switch (result.error) {
    case 'second_factor':
      auth.setCookies(c, result.setCookie);
      return c.json({ error: 'second_factor_required' }, 401);
    case 'throttled':
    case 'busy':
      c.header('retry-after', String(result.retryAfterSeconds));
      return c.json({ error: result.error }, result.error === 'busy' ? 503 : 429);
    case 'bad_request':
      return c.json({ error: 'bad_request', message: result.message }, 400);
    default:
      return c.json({ error: 'invalid_credentials' }, 401);
  }
});

// Step two after the password: the user's passkey (the challenge is bound to the pending cookie)…
app.post('/api/login/second-factor/passkey/options', auth.loginCsrf(), async (c) => {
  const begun = await beginPasskeySecondFactor(account, c.var.cloakroomRequest);
  return begun.ok ? c.json({ options: begun.options }) : refused(c, begun);
});
app.post('/api/login/second-factor/passkey', auth.loginCsrf(), async (c) => {
  const { response } = await body(c);
  const done = await finishPasskeySecondFactor(account, c.var.cloakroomRequest, { response });
  return done.ok ? signedIn(c, done) : refused(c, done);
});
// … or one of the recovery codes shown when the first passkey was added (each works once).
app.post('/api/login/second-factor/recovery-code', auth.loginCsrf(), async (c) => {
  const { recoveryCode } = await body(c);
  const done = await completeSignIn(account, c.var.cloakroomRequest, { recoveryCode });
  return done.ok ? signedIn(c, done) : refused(c, done);
});

// A passkey alone, no username: the browser offers the passkeys it holds for this site. The
// challenge is bound to a short-lived cookie of this browser, so only it can finish.
app.post('/api/login/passkey/options', auth.loginCsrf(), async (c) => {
  const begun = await beginPasskeySignIn(account, c.var.cloakroomRequest);
  auth.setCookies(c, begun.setCookie);
  return c.json({ options: begun.options });
});
app.post('/api/login/passkey', auth.loginCsrf(), async (c) => {
  const { response } = await body(c);
  const done = await finishPasskeySignIn(account, c.var.cloakroomRequest, { response });
  return done.ok ? signedIn(c, done) : refused(c, done);
});

// From here on every unsafe method needs the X-CSRF-Token header (and no other site's Origin).
app.use(auth.csrf());

// The page calls this on load: a reload keeps the session and gets a fresh token. `methods`
// says how this session signed in: ["pwd"], ["hwk"] (a passkey alone), ["pwd","hwk"].
app.get('/api/me', auth.requireUser(), (c) =>
  c.json({ user: c.var.user, methods: c.var.session!.methods, csrfToken: auth.csrfToken(c) }),
);

app.get('/api/passkeys', auth.requireUser(), async (c) => {
  const passkeys = await listPasskeys(account, c.var.user!.id);
  return c.json({ passkeys: passkeys.map(passkeyJson) });
});

// Adding a passkey needs a recent sign-in (10 minutes): a stolen session must not add its own.
app.post('/api/passkeys/options', auth.requireUser(), async (c) => {
  const begun = await beginPasskeyRegistration(account, c.var.cloakroomRequest, c.var.session!);
  return begun.ok ? c.json({ options: begun.options }) : refused(c, begun);
});
app.post('/api/passkeys', auth.requireUser(), async (c) => {
  const { response, name } = await body(c);
  const done = await finishPasskeyRegistration(account, c.var.cloakroomRequest, c.var.session!, {
    response,
    name,
  });
  if (!done.ok) return refused(c, done, true);
  // The first passkey comes with ten recovery codes (else null): the page shows them once.
  return c.json({ passkey: passkeyJson(done.passkey), recoveryCodes: done.recoveryCodes }, 201);
});

// Removing one needs a recent sign-in too. Removing the last also drops the recovery codes.
app.delete('/api/passkeys/:id', auth.requireUser(), async (c) => {
  const done = await removePasskey(account, c.var.session!, c.req.param('id'));
  return done.ok ? c.body(null, 204) : refused(c, done);
});

app.post('/api/logout', auth.requireUser(), async (c) => {
  await auth.endSession(c);
  return c.body(null, 204);
});

const server = serve({ fetch: app.fetch, port: PORT, hostname: HOST }, (info) => {
  console.log(
    `hono-passkeys example listening on http://${HOST}:${info.port} (open ${ORIGIN}; sign in as ${DEMO_USER} / ${DEMO_PASSWORD})`,
  );
});
server.once('error', (error) => {
  console.error(`hono-passkeys example: cannot listen on ${HOST}:${PORT}: ${error.message}`);
  process.exit(1);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => server.close(() => void store.close().then(() => process.exit(0))));
}
