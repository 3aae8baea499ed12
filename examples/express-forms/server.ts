// A classic form website on Express 5 with cloakroom: a sign-in form protected against login
// CSRF, a notes page whose form posts `_csrf`, and a sign-out form. No JavaScript in the pages.
//
//   npx tsx examples/express-forms/server.ts
//
// It imports cloakroom by its package names, as your project would; in this repository they
// resolve to the built package (`npm run build` first).
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { AccountError, createAccount, createSessions, createThrottle, signIn } from 'cloakroom';
import { createExpressAuth, type Refusal } from 'cloakroom/express';
import { createPasswordHasher } from 'cloakroom/passwords';
import { createSqliteStore } from 'cloakroom/sqlite';
import express, { type Request, type Response } from 'express';

const PORT = Number(process.env.PORT ?? 3000);
const HOST = process.env.HOST ?? '127.0.0.1';
const DATA_DIR = process.env.EXAMPLE_DATA_DIR ?? fileURLToPath(new URL('./data/', import.meta.url));
const DEMO_USER = 'demo';
const DEMO_PASSWORD = 'harbour-lantern-42';

// The keyring: newest secret first. Generate one with `npx cloakroom-server secret new`. Without one,
// this example makes a throw-away secret, so sessions end when the process does.
const secrets = process.env.CLOAKROOM_SECRETS?.split(',') ?? [randomBytes(32).toString('base64url')];
if (!process.env.CLOAKROOM_SECRETS) console.warn('CLOAKROOM_SECRETS not set: using a throw-away secret');

// Sessions, users and sign-in throttling in one SQLite file; the app's own table lives beside them.
const store = createSqliteStore({ path: `${DATA_DIR}/app.db` });
store.database.exec(`CREATE TABLE IF NOT EXISTS example_notes (
  id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, text TEXT NOT NULL, created_at INTEGER NOT NULL)`);
const insertNote = store.database.prepare(
  'INSERT INTO example_notes (user_id, text, created_at) VALUES (?, ?, ?)',
);
const listNotes = store.database.prepare<[string], { text: string; created_at: number }>(
  'SELECT text, created_at FROM example_notes WHERE user_id = ? ORDER BY id DESC LIMIT 50',
);

const sessions = createSessions({
  secrets,
  store: store.sessions,
  idleTimeout: '30m',
  absoluteTimeout: '12h',
});
const passwords = createPasswordHasher();
const throttle = createThrottle({ counters: store.counters });
const signInDeps = { sessions, users: store.users, passwords, throttle };

try {
  await createAccount(store.users, passwords, { username: DEMO_USER, password: DEMO_PASSWORD }, Date.now());
} catch (error) {
  if (!(error instanceof AccountError && error.code === 'taken')) throw error;
}

/**
 * HTML pages: a signed-out visitor is sent to the sign-in form; a sign-in refused by the login
 * CSRF check gets the form again (its token may just have expired); any other refusal a page.
 */
function refused(req: Request, res: Response, refusal: Refusal): void {
  if (refusal.status === 401) return void res.redirect(303, '/login');
  if (refusal.error === 'csrf' && req.path === '/login') {
    return void res
      .status(403)
      .send(loginPage(req, res, 'The form expired or came from another site. Please try again.'));
  }
  res
    .status(403)
    .send(page('Refused', '<p>This request was refused. <a href="/notes">Back to your notes</a>.</p>'));
}

/** A store that cannot be reached is a 503 page, never a false success. */
function unavailable(_req: Request, res: Response): void {
  res.status(503).send(page('Unavailable', '<p>Try again shortly.</p>'));
}

const auth = createExpressAuth({
  sessions,
  users: store.users,
  onRefused: refused,
  onUnavailable: unavailable,
});
const app = express();
app.disable('x-powered-by');
app.use((_req, res, next) => {
  res.set({
    'Content-Security-Policy':
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
    // Not no-referrer: browsers then send `Origin: null` on form posts, which the origin gate refuses.
    'Referrer-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  });
  next();
});
// Parse forms before the CSRF guard: it reads `_csrf` from req.body.
app.use(express.urlencoded({ extended: false, limit: '16kb' }), auth.middleware);

app.get('/', (_req, res) => res.redirect(303, '/notes'));

app.get('/login', (req, res) => {
  if (req.cloakroom.user) return res.redirect(303, '/notes');
  res.send(loginPage(req, res));
});

// Sign-in comes before auth.csrf(): there is no session yet. auth.loginCsrf() is the login-CSRF
// check: the origin gate, then the form's `_csrf` against its signed nonce cookie (no
// server-side session per visitor). Its refusals go through `refused` above.
app.post('/login', auth.loginCsrf(), async (req, res) => {
  const form = fields(req);
  const result = await signIn(signInDeps, req.cloakroom.request, {
    username: form.username,
    password: form.password,
    remember: form.remember === 'on',
  });
  if (!result.ok) {
    // busy: the password hasher is doing all it can; nothing was checked, come back shortly.
    if (result.error === 'busy') {
      res.set('Retry-After', String(result.retryAfterSeconds));
      return void res
        .status(503)
        .send(loginPage(req, res, 'Too many sign-ins right now; try again shortly.'));
    }
    const status = result.error === 'throttled' ? 429 : result.error === 'bad_request' ? 400 : 401;
    const message = status === 429 ? 'Too many attempts; try again later.' : 'Wrong username or password.';
    return void res.status(status).send(loginPage(req, res, message));
  }
  auth.adopt(req, res, result.issued); // the new session cookie; any old session is gone
  res.redirect(303, '/notes');
});

// Every unsafe request from here on needs the `_csrf` field (or the X-CSRF-Token header).
app.use(auth.csrf());

app.get('/notes', auth.requireUser(), async (req, res) => {
  const { user, session } = req.cloakroom;
  const flash = typeof session?.data.flash === 'string' ? session.data.flash : null;
  // A one-time message lives in the session's data, like express-session's `req.session.flash`.
  if (flash && session) await sessions.updateData(session, { remove: ['flash'] });
  const csrf = sessions.csrfToken(session!);
  const notes = listNotes.all(user!.id);
  res.send(
    page(
      'Your notes',
      `<p>Signed in as <strong>${escapeHtml(user!.username)}</strong>.</p>
${flash ? `<p class="flash">${escapeHtml(flash)}</p>` : ''}
<form method="post" action="/notes">
  <input type="hidden" name="_csrf" value="${csrf}">
  <label>New note <input name="text" maxlength="500" required autofocus></label>
  <button>Add</button>
</form>
<ul>${notes.map((n) => `<li>${escapeHtml(n.text)}</li>`).join('') || '<li><em>No notes yet.</em></li>'}</ul>
<form method="post" action="/logout">
  <input type="hidden" name="_csrf" value="${csrf}">
  <button>Sign out</button>
</form>`,
    ),
  );
});

app.post('/notes', auth.requireUser(), async (req, res) => {
  const text = fields(req).text?.trim() ?? '';
  if (text === '' || text.length > 500)
    return void res.status(400).send(page('Bad note', '<p>1 to 500 characters.</p>'));
  insertNote.run(req.cloakroom.user!.id, text, Date.now());
  await sessions.updateData(req.cloakroom.session!, { set: { flash: 'Note saved.' } });
  res.redirect(303, '/notes');
});

app.post('/logout', async (req, res) => {
  await auth.endSession(req, res); // deleted server-side: every copy of the cookie is dead
  res.redirect(303, '/login');
});

// After the routes: a StoreError thrown by a helper or handler gets `unavailable` (503).
app.use(auth.errorHandler);

/** The string fields of a URL-encoded body (Express 5 leaves req.body undefined for other types). */
function fields(req: Request): Record<string, string | undefined> {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null) return {};
  return Object.fromEntries(Object.entries(body).filter(([, v]) => typeof v === 'string'));
}

function loginPage(req: Request, res: Response, error?: string): string {
  // The login-CSRF token: a signed nonce in a cookie (set here if needed) and its MAC in the form.
  const token = auth.loginToken(req, res);
  return page(
    'Sign in',
    `${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/login">
  <input type="hidden" name="_csrf" value="${token}">
  <label>Username <input name="username" autocomplete="username" required autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <label><input type="checkbox" name="remember"> Remember me</label>
  <button>Sign in</button>
</form>
<p>Demo account: <code>${DEMO_USER}</code> / <code>${DEMO_PASSWORD}</code></p>`,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.5rem 0}.error{color:#b00020}.flash{color:#176f2c}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

const server: Server = app.listen(PORT, HOST, (error) => {
  if (error) {
    // Express 5 hands a failed listen (the port is taken, no permission) to this callback.
    console.error(`express-forms example: cannot listen on ${HOST}:${PORT}: ${error.message}`);
    process.exit(1);
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : PORT;
  console.log(
    `express-forms example listening on http://${HOST}:${port} (sign in as ${DEMO_USER} / ${DEMO_PASSWORD})`,
  );
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(() => void store.close().then(() => process.exit(0)));
    server.closeAllConnections();
  });
}
