import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { type CloakroomEnv, createHonoAuth } from '../../packages/cloakroom/src/adapters/hono/index.js';
import { createPasswordHasher } from '../../packages/cloakroom/src/auth/passwords.js';
import { signIn } from '../../packages/cloakroom/src/auth/sign-in.js';
import { createThrottle } from '../../packages/cloakroom/src/auth/throttle.js';
import { createAccount } from '../../packages/cloakroom/src/auth/users.js';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import type { SessionsOptions } from '../../packages/cloakroom/src/core/options.js';
import { createSessions } from '../../packages/cloakroom/src/core/sessions.js';
import { createSqliteStore, type SqliteStore } from '../../packages/cloakroom/src/stores/sqlite/index.js';
import { SECRET_A } from './core.js';

export const PASSWORD = 'correct horse battery staple';

export interface HonoHarness {
  app: Hono<CloakroomEnv>;
  store: SqliteStore;
  clock: ManualClock;
  ids: { alice: string; bob: string };
  counter: { value: number };
  /** Sends a request through the real Hono app. */
  request(path: string, init?: RequestInit & { cookie?: string }): Promise<Response>;
  /** Signs in and returns the cookie pair and CSRF token. */
  login(username: string, password?: string): Promise<{ cookie: string; csrf: string; response: Response }>;
  close(): Promise<void>;
}

/**
 * A small Hono app on the real SQLite store (a fresh file per harness): what an application
 * using `cloakroom/hono` looks like. Routes: POST /login, POST /logout, GET /me, GET /admin,
 * POST /mutate (counter), GET|POST /data.
 */
export async function honoHarness(options: Partial<SessionsOptions> = {}): Promise<HonoHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-hono-'));
  const clock = manualClock(Date.now());
  const store = createSqliteStore({ path: join(dir, 'test.db'), clock, sweepIntervalMs: 0 });
  const sessions = createSessions({ secrets: [SECRET_A], store: store.sessions, clock, ...options });
  const passwords = createPasswordHasher();
  const throttle = createThrottle({ counters: store.counters, clock });
  const auth = createHonoAuth({ sessions, users: store.users, remoteAddress: () => '127.0.0.1' });
  const alice = await createAccount(
    store.users,
    passwords,
    { username: 'alice', password: PASSWORD, roles: ['admin'] },
    clock.now(),
  );
  const bob = await createAccount(
    store.users,
    passwords,
    { username: 'bob', password: PASSWORD },
    clock.now(),
  );
  const counter = { value: 0 };

  const app = new Hono<CloakroomEnv>();
  app.use(auth.middleware);
  // Sign-in is not behind the session CSRF check (it replaces whatever session the request
  // carries) but behind loginCsrf(): the origin gate, and the login token for non-JSON bodies.
  app.post('/login', auth.loginCsrf(), async (c) => {
    const body = await c.req.json<Record<string, unknown>>().catch(() => null);
    const result = await signIn(
      { sessions, users: store.users, passwords, throttle, clock },
      c.var.cloakroomRequest,
      body ?? {},
    );
    if (!result.ok) {
      if (result.error === 'throttled') {
        return c.json({ error: result.error }, 429, { 'Retry-After': String(result.retryAfterSeconds) });
      }
      return c.json({ error: result.error }, result.error === 'bad_request' ? 400 : 401);
    }
    auth.adopt(c, result.issued);
    return c.json({ user: result.user, csrfToken: result.issued.csrfToken });
  });
  app.use(auth.csrf());
  app.post('/logout', auth.requireUser(), async (c) => {
    await auth.endSession(c);
    return c.body(null, 204);
  });
  app.get('/me', auth.requireUser(), (c) =>
    c.json({ user: c.var.user, session: c.var.session, csrfToken: sessions.csrfToken(c.var.session!) }),
  );
  app.get('/admin', auth.requireRole('admin'), (c) => c.json({ ok: true }));
  // Responses whose headers are immutable (Response.redirect), as a handler passing one through gets.
  app.get('/bounce', () => Response.redirect('http://localhost/elsewhere', 302));
  app.post('/logout-bounce', async (c) => {
    await auth.endSession(c);
    return Response.redirect('http://localhost/signed-out', 303);
  });
  app.post('/mutate', auth.requireUser(), (c) => {
    counter.value++;
    return c.json({ counter: counter.value });
  });
  app.get('/data', auth.requireUser(), (c) => c.json(c.var.session!.data));
  app.post('/data', auth.requireUser(), async (c) => {
    const body = await c.req.json<Record<string, string>>();
    await sessions.updateData(c.var.session!, { set: body });
    return c.body(null, 204);
  });
  app.post('/rotate', auth.requireUser(), async (c) => {
    const issued = await auth.rotate(c);
    return c.json({ csrfToken: issued.csrfToken });
  });

  const request: HonoHarness['request'] = (path, init = {}) => {
    const { cookie, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (cookie) headers.set('cookie', cookie);
    return Promise.resolve(app.request(`http://app.test${path}`, { ...rest, headers }));
  };

  return {
    app,
    store,
    clock,
    ids: { alice: alice.id, bob: bob.id },
    counter,
    request,
    async login(username, password = PASSWORD) {
      const response = await request('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      const setCookie = response.headers.get('set-cookie') ?? '';
      const body = (await response.clone().json()) as { csrfToken?: string };
      return { cookie: setCookie.split(';')[0]!, csrf: body.csrfToken ?? '', response };
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
