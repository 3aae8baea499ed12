import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { DbscBrowser } from '../support/dbsc-client.js';
import {
  jsonOf,
  type Login,
  PASSWORD,
  type ServerHarness,
  sessionCookieOf,
  startHarness,
} from '../support/server.js';

// An admin sees a user's sessions, and which of them are device-bound (DBSC): over the JSON API
// (GET /api/admin/users/:id/sessions) and as a page (/admin/users/:id/sessions, linked from
// /admin). The real server over real HTTP with CLOAKROOM_DBSC=on; bob has one session bound to a
// device key (test/support/dbsc-client.ts) and one plain session from a hostile User-Agent.

/** A User-Agent bowser reads as the browser `<script>alert(1)</script>` on Linux. */
const HOSTILE_UA = '<script>alert(1)</script>/1.0 (X11; Linux x86_64)';

interface SessionJson {
  id: string;
  current: boolean;
  createdAt: string;
  lastSeenAt: string;
  bound: boolean;
  ip: string | null;
  userAgent: string | null;
}

let h: ServerHarness;
let admin: Login;
/** bob's public session ids: one bound to a device key, one plain. */
let boundId: string;
let plainId: string;
let plainCookie: string;

/** The public id of the session a request with this cookie header (and bound cookie) is in. */
async function ownSessionId(send: (path: string) => Promise<Response>): Promise<string> {
  const res = await send('/api/sessions');
  expect(res.status).toBe(200);
  const { sessions } = await jsonOf<{ sessions: SessionJson[] }>(res);
  const current = sessions.find((s) => s.current);
  if (!current) throw new Error('no current session in the list');
  return current.id;
}

beforeAll(async () => {
  h = await startHarness({ env: { CLOAKROOM_DBSC: 'on' } });
  admin = await h.login('alice');

  // bob in a DBSC browser: signs in, registers a device key, the session is bound.
  const browser = new DbscBrowser((path, init) =>
    h.fetch(path, { method: init.method, headers: init.headers }),
  );
  const signIn = await h.fetch('/api/login', {
    json: { username: 'bob', password: PASSWORD },
    headers: { origin: h.origin },
  });
  expect(signIn.status).toBe(200);
  browser.jar.absorb(signIn);
  const registered = await browser.register(signIn);
  expect(registered.status, await registered.clone().text()).toBe(200);
  boundId = await ownSessionId((path) => browser.request(path));

  // bob again, from a browser that does not bind (it ignores the offer), with a hostile User-Agent.
  const plain = await h.fetch('/api/login', {
    json: { username: 'bob', password: PASSWORD },
    headers: { 'user-agent': HOSTILE_UA },
  });
  expect(plain.status).toBe(200);
  plainCookie = sessionCookieOf(plain)!;
  plainId = await ownSessionId((path) => h.fetch(path, { cookie: plainCookie }));
  expect(plainId).not.toBe(boundId);
}, 60_000);
afterAll(() => h?.close());

const listOf = async (id: string, login: Login | null = admin) =>
  h.fetch(`/api/admin/users/${id}/sessions`, login ? { cookie: login.cookie } : {});

/** The page's table row of a session. */
function rowOf(html: string, sessionId: string): string {
  const row = new RegExp(`<tr data-session="${sessionId}"[\\s\\S]*?</tr>`).exec(html)?.[0];
  if (!row) throw new Error(`no row for session ${sessionId}`);
  return row;
}

describe('GET /api/admin/users/:id/sessions', () => {
  test("lists the user's sessions: bound true for the device-bound one, false for the plain one", async () => {
    const res = await listOf(h.ids.bob);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-store');
    const { sessions } = await jsonOf<{ sessions: SessionJson[] }>(res);
    expect(sessions.map((s) => s.id).sort()).toEqual([boundId, plainId].sort());
    const bound = sessions.find((s) => s.id === boundId)!;
    const plain = sessions.find((s) => s.id === plainId)!;
    expect(bound.bound).toBe(true);
    expect(plain.bound).toBe(false);
    // None of them is the admin's session; the user agent is data, returned as sent.
    expect(sessions.every((s) => s.current === false)).toBe(true);
    expect(plain).toMatchObject({ ip: '127.0.0.1', userAgent: HOSTILE_UA });
    // The public view only: the same fields as GET /api/sessions, no token, key or epoch.
    for (const s of sessions) {
      expect(Object.keys(s).sort()).toEqual(
        ['bound', 'createdAt', 'current', 'id', 'ip', 'lastSeenAt', 'userAgent'].sort(),
      );
    }
  });

  test("the admin's own list marks the admin's session current", async () => {
    const { sessions } = await jsonOf<{ sessions: SessionJson[] }>(await listOf(h.ids.alice));
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    expect(sessions.find((s) => s.current)?.bound).toBe(false);
  });

  test('a user without sessions: an empty list', async () => {
    const carol = await h.createUser('carol');
    const res = await listOf(carol.id);
    expect(res.status).toBe(200);
    expect(await jsonOf(res)).toEqual({ sessions: [] });
  });

  test('a signed-in non-admin gets 403 forbidden, also for their own id', async () => {
    for (const id of [h.ids.bob, h.ids.alice]) {
      const res = await listOf(id, { cookie: plainCookie } as Login);
      expect(res.status).toBe(403);
      expect(await jsonOf(res)).toMatchObject({ error: 'forbidden' });
    }
  });

  test('signed out: 401 unauthenticated', async () => {
    const res = await listOf(h.ids.bob, null);
    expect(res.status).toBe(401);
    expect(await jsonOf(res)).toMatchObject({ error: 'unauthenticated' });
  });

  test('an unknown or malformed user id: 404 not_found "No such user."', async () => {
    for (const id of [
      '00000000-0000-0000-0000-000000000000',
      'no-such-user',
      h.ids.bob.toUpperCase(),
      'a%00b',
      'x'.repeat(300),
    ]) {
      const res = await listOf(id);
      expect(res.status, id).toBe(404);
      expect(await jsonOf(res)).toEqual({ error: 'not_found', message: 'No such user.' });
    }
  });
});

describe('/admin/users/:id/sessions (page)', () => {
  const page = (id: string, cookie: string | null = admin.cookie) =>
    h.fetch(`/admin/users/${id}/sessions`, cookie ? { cookie } : {});

  test("shows the user's sessions, the device-bound tag only on the bound one, and a way back", async () => {
    const res = await page(h.ids.bob);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('<h1>Sessions of bob</h1>');
    expect(rowOf(html, boundId)).toContain('device-bound');
    expect(rowOf(html, plainId)).not.toContain('device-bound');
    expect(html.match(/device-bound/g)).toHaveLength(1);
    // Not the admin's sessions: no "this device", and no per-row Sign out.
    expect(html).not.toContain('>this device<');
    expect(html).not.toContain('/account/sessions/');
    expect(rowOf(html, plainId)).toContain('<td data-label="IP address">127.0.0.1</td>');
    expect(html).toContain('<a href="/admin">Back to users</a>');
    expect(html).toContain(`action="/admin/users/${h.ids.bob}/revoke-sessions"`);
  });

  test('the admin\'s own sessions: theirs is marked "this device"', async () => {
    const own = await ownSessionId((path) => h.fetch(path, { cookie: admin.cookie }));
    const html = await (await page(h.ids.alice)).text();
    expect(rowOf(html, own)).toContain('<span class="tag here">this device</span>');
  });

  test('a hostile User-Agent is shown as text, never as markup; the page has no script', async () => {
    const res = await page(h.ids.bob);
    const html = await res.text();
    expect(rowOf(html, plainId)).toContain('&lt;script&gt;alert(1)&lt;/script&gt; on Linux');
    expect(html).not.toMatch(/<script/i);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');
  });

  test('a user without sessions: says so, and "Sign out everywhere" is disabled', async () => {
    const dave = await h.createUser('dave');
    const res = await page(dave.id);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('No sessions: dave is not signed in anywhere.');
    expect(html).not.toContain('<table');
    expect(html).toMatch(
      /<button type="submit" class="quiet" disabled="" aria-label="Sign out dave everywhere"/,
    );
  });

  test('a signed-in non-admin gets the 403 page; signed out goes to /login and back', async () => {
    const forbidden = await page(h.ids.bob, plainCookie);
    expect(forbidden.status).toBe(403);
    const text = await forbidden.text();
    expect(text).toContain('Admins only');
    expect(text).not.toContain(plainId);

    const out = await page(h.ids.bob, null);
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe(
      `/login?next=${encodeURIComponent(`/admin/users/${h.ids.bob}/sessions`)}`,
    );
  });

  test('an unknown or malformed id: the admin page with "No such user.", 404', async () => {
    for (const id of ['00000000-0000-0000-0000-000000000000', 'no-such-user', 'a%00b']) {
      const res = await page(id);
      expect(res.status, id).toBe(404);
      expect(await res.text()).toContain('No such user.');
    }
  });

  test("/admin links to each user's sessions from the Actions cell, named for the user", async () => {
    const res = await h.fetch('/admin', { cookie: admin.cookie });
    const html = await res.text();
    for (const [name, id] of [
      ['alice', h.ids.alice],
      ['bob', h.ids.bob],
    ] as const) {
      const row = new RegExp(`<tr data-user="${name}">[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';
      const actions = /<td data-label="Actions">[\s\S]*?<\/td>/.exec(row)?.[0] ?? '';
      expect(actions).toContain(
        `<a class="button quiet small" href="/admin/users/${id}/sessions" aria-label="Sessions of ${name}">Sessions</a>`,
      );
    }
  });

  test('"Sign out everywhere" on the page ends every session of the user', async () => {
    const html = await (await page(h.ids.bob)).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    const res = await h.fetch(`/admin/users/${h.ids.bob}/revoke-sessions`, {
      cookie: admin.cookie,
      headers: { origin: h.origin, 'sec-fetch-site': 'same-origin' },
      form: { _csrf: csrf! },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin');
    expect(await jsonOf(await listOf(h.ids.bob))).toEqual({ sessions: [] });
    expect((await h.fetch('/api/session', { cookie: plainCookie })).status).toBe(401);
  });
});

describe('reading needs no recent sign-in and no CSRF token', () => {
  let clock: ManualClock;
  let r: ServerHarness;
  beforeAll(async () => {
    clock = manualClock();
    r = await startHarness({ clock });
  });
  afterAll(() => r?.close());

  test('past the re-auth window an admin still reads the list and the page, while a change is refused', async () => {
    const alice = await r.login('alice');
    clock.advance(11 * 60_000);
    const list = await r.fetch(`/api/admin/users/${r.ids.alice}/sessions`, { cookie: alice.cookie });
    expect(list.status).toBe(200);
    expect((await jsonOf<{ sessions: SessionJson[] }>(list)).sessions).toHaveLength(1);
    expect((await r.fetch(`/admin/users/${r.ids.alice}/sessions`, { cookie: alice.cookie })).status).toBe(
      200,
    );
    // The window really is closed: a change is refused.
    const change = await r.fetch(`/api/admin/users/${r.ids.bob}/revoke-sessions`, {
      method: 'POST',
      cookie: alice.cookie,
      csrf: alice.csrf,
    });
    expect(change.status).toBe(403);
    expect(await jsonOf(change)).toMatchObject({ error: 'reauth_required' });
  });
});
