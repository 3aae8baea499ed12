/**
 * Peer: better-auth (email + password) on its built-in SQLite support (a better-sqlite3
 * `Database` handed to `database`, which better-auth drives through Kysely), served by plain
 * `node:http`. `GET /healthz` is the bare route (no better-auth code runs); `GET /api/me`
 * calls `auth.api.getSession({ headers })`. Sign-in is better-auth's own
 * `POST /api/auth/sign-in/email`. Started by bench/http.bench.ts with PORT and BENCH_DATA_DIR.
 */
import { createServer } from 'node:http';
import { join } from 'node:path';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { fromNodeHeaders, toNodeHandler } from 'better-auth/node';
import Database from 'better-sqlite3';

const port = Number(process.env.PORT);
const db = new Database(join(process.env.BENCH_DATA_DIR ?? '.', 'better-auth.db'));
// The same journal settings as cloakroom's SQLite store, for a like-for-like comparison.
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');

const baseURL = `http://127.0.0.1:${port}`;
const auth = betterAuth({
  database: db,
  baseURL,
  secret: 'bench-only-secret-bench-only-secret-0123456789',
  emailAndPassword: { enabled: true },
  telemetry: { enabled: false },
  // Rate limiting would answer 429 under load; it is off outside production by default anyway.
  rateLimit: { enabled: false },
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();
await auth.api.signUpEmail({
  body: { email: 'bench@example.com', password: 'bench-password-1234', name: 'Bench' },
});

const authHandler = toNodeHandler(auth);
const json = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
};

const server = createServer(async (req, res) => {
  try {
    if (req.url === '/healthz') return json(res, 200, { status: 'ok' });
    if (req.url === '/api/me') {
      const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
      if (!session) return json(res, 401, { error: 'unauthenticated' });
      return json(res, 200, { user: { id: session.user.id } });
    }
    if (req.url?.startsWith('/api/auth/')) return await authHandler(req, res);
    return json(res, 404, { error: 'not_found' });
  } catch (error) {
    console.error(error);
    if (!res.headersSent) json(res, 500, { error: 'internal' });
  }
});
server.listen(port, '127.0.0.1');
