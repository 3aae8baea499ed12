// A classic form website on Express 5 with cloakroom: a sign-in form protected against login
// CSRF, a notes page whose form posts `_csrf`, and a sign-out form. No JavaScript in the pages.
//
//   npx tsx examples/express-forms/server.ts
//
// In your own project the imports below are `cloakroom`, `cloakroom/express` and
// `cloakroom/sqlite`; here they point at the repository's source so the example runs unpublished.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createExpressAuth, type Refusal } from '../../src/adapters/express/index.js';
import {
  AccountError,
  createAccount,
  createPasswordHasher,
  createSessions,
  createThrottle,
  StoreError,
  signIn,
} from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';

const PORT = Number(process.env.PORT ?? 3000);
const HOST = process.env.HOST ?? '127.0.0.1';
const DATA_DIR = process.env.EXAMPLE_DATA_DIR ?? fileURLToPath(new URL('./data/', import.meta.url));
const DEMO_USER = 'demo';
const DEMO_PASSWORD = 'harbour-lantern-42';

// The keyring: newest secret first. Generate one with `npx cloakroom secret new`. Without one,
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

/** HTML pages: a signed-out visitor is sent to the sign-in form, a failed CSRF check gets a page. */
function refused(_req: Request, res: Response, refusal: Refusal): void {
  if (refusal.status === 401) {
    res.redirect(303, '/login');
    return;
  }
  res
    .status(403)
    .send(page('Refused', '<p>This request was refused. <a href="/notes">Back to your notes</a>.</p>'));
}

const auth = createExpressAuth({ sessions, users: store.users, onRefused: refused });
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

// Sign-in comes before auth.csrf(): there is no session yet. Login CSRF is covered by the origin
// gate plus the signed double-submit token of the form (no server-side session per visitor).
app.post('/login', async (req, res) => {
  const request = req.cloakroom.request;
  const form = fields(req);
  if (sessions.checkOrigin(request))
    return void res.status(403).send(page('Refused', '<p>Sign-in from another site.</p>'));
  if (!sessions.checkLoginToken(request, form._csrf)) {
    return void res.status(403).send(loginPage(req, res, 'The form expired. Please try again.'));
  }
  const result = await signIn(signInDeps, request, {
    username: form.username,
    password: form.password,
    remember: form.remember === 'on',
  });
  if (!result.ok) {
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

// A store that cannot be reached is a 503, never a false success (error handlers take four arguments).
app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
  if (error instanceof StoreError)
    return void res.status(503).send(page('Unavailable', '<p>Try again shortly.</p>'));
  next(error);
});

/** The string fields of a URL-encoded body (Express 5 leaves req.body undefined for other types). */
function fields(req: Request): Record<string, string | undefined> {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null) return {};
  return Object.fromEntries(Object.entries(body).filter(([, v]) => typeof v === 'string'));
}

function loginPage(req: Request, res: Response, error?: string): string {
  // The login-CSRF token: a signed nonce in a cookie and the same value in the form.
  const { token, setCookie } = sessions.issueLoginToken(req.cloakroom.request);
  auth.setCookies(res, setCookie);
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

const server: Server = app.listen(PORT, HOST, () => {
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
