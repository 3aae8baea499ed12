import { afterEach, describe, expect, test } from 'vitest';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { createApp } from '../../packages/server/src/server/app.js';
import {
  type Browser,
  enrol,
  sessionCookie,
  signInPassword,
  signInTwoSteps,
  totpCode,
} from '../support/second-factor-api.js';
import { jsonOf, PASSWORD, type ServerHarness, startHarness } from '../support/server.js';

// CLOAKROOM_REAUTH_WINDOW at the API: sensitive routes answer 403 reauth_required once the last
// proof of a factor is as old as the window; POST /api/reauth renews the proof. Stepped on a
// manual clock, and once really waited on a 2 s window.

const WINDOW = 10 * 60_000;
let clock: ManualClock;
let h: ServerHarness;
afterEach(async () => h?.close());

async function start(env: Record<string, string> = {}): Promise<void> {
  clock = manualClock();
  h = await startHarness({ clock, env });
}

/** Every unsafe route under /api/admin/ the app registers (found, not listed by hand). */
function unsafeAdminRoutes(): Array<{ method: string; path: string }> {
  const app = createApp(h.deps);
  const seen = new Set<string>();
  const routes: Array<{ method: string; path: string }> = [];
  for (const route of app.routes) {
    if (!route.path.startsWith('/api/admin/') || route.path.endsWith('*')) continue;
    if (['GET', 'HEAD', 'OPTIONS', 'ALL'].includes(route.method)) continue;
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    routes.push({ method: route.method, path: route.path });
  }
  return routes;
}

/** A body each admin route would accept, so a pass inside the window is a real success. */
function bodyFor(method: string, path: string): unknown {
  if (path === '/api/admin/users')
    return {
      username: `u${Math.random().toString(36).slice(2, 8)}`,
      password: 'fresh user password 7',
      roles: [],
    };
  if (method === 'PATCH') return { displayName: 'Bobby' };
  if (path.endsWith('/password')) return { password: 'reset by admin password 3' };
  if (path.endsWith('/recovery-link')) return { clearSecondFactor: false };
  return {};
}

const send = (browser: Browser, method: string, path: string, json: unknown) =>
  h.fetch(path.replace(':id', h.ids.bob), { method, json, jar: browser.jar, csrf: browser.csrf });

describe('admin API: every change needs a recent proof', () => {
  test('the app has the admin routes this test expects to find', async () => {
    await start();
    const found = unsafeAdminRoutes().map((r) => `${r.method} ${r.path}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'POST /api/admin/users',
        'PATCH /api/admin/users/:id',
        'POST /api/admin/users/:id/password',
        'POST /api/admin/users/:id/revoke-sessions',
        'POST /api/admin/users/:id/second-factor/reset',
        'POST /api/admin/users/:id/recovery-link',
      ]),
    );
  });

  test('one millisecond inside the window every unsafe admin route works; at the window each answers 403 reauth_required and changes nothing; reading still works', async () => {
    await start();
    const routes = unsafeAdminRoutes();
    for (const { method, path } of routes) {
      const admin = await signInPassword(h, 'alice');
      clock.advance(WINDOW - 1);
      const inside = await send(admin, method, path, bodyFor(method, path));
      expect(inside.status, `${method} ${path} inside the window`).toBeLessThan(300);
      clock.advance(1);
      const before = await h.deps.users.getById(h.ids.bob);
      const outside = await send(admin, method, path, bodyFor(method, path));
      expect(outside.status, `${method} ${path} at the window`).toBe(403);
      expect(await jsonOf(outside), `${method} ${path}`).toMatchObject({ error: 'reauth_required' });
      expect(await h.deps.users.getById(h.ids.bob), `${method} ${path} changed bob`).toEqual(before);
      const list = await h.fetch('/api/admin/users', { jar: admin.jar });
      expect(list.status).toBe(200);
    }
  });

  test('POST /api/reauth with the password renews the proof: a new cookie and CSRF token, the old ones dead, the change allowed', async () => {
    await start();
    const admin = await signInPassword(h, 'alice');
    clock.advance(WINDOW + 60_000);
    const refused = await send(admin, 'POST', '/api/admin/users/:id/revoke-sessions', {});
    expect(refused.status).toBe(403);
    const oldCookie = sessionCookie(admin.jar)!;

    const wrong = await h.fetch('/api/reauth', {
      json: { password: 'not it' },
      jar: admin.jar,
      csrf: admin.csrf,
    });
    expect(wrong.status).toBe(401);
    expect(await jsonOf(wrong)).toMatchObject({ error: 'invalid_credentials' });

    const ok = await h.fetch('/api/reauth', {
      json: { password: PASSWORD },
      jar: admin.jar,
      csrf: admin.csrf,
    });
    expect(ok.status).toBe(200);
    const { csrfToken } = await jsonOf<{ csrfToken: string }>(ok);
    expect(csrfToken).not.toBe(admin.csrf);
    expect(sessionCookie(admin.jar)).not.toBe(oldCookie);
    expect((await h.fetch('/api/session', { cookie: oldCookie })).status).toBe(401);

    const stale = await send(admin, 'POST', '/api/admin/users/:id/revoke-sessions', {});
    expect(stale.status).toBe(403);
    expect(await jsonOf(stale)).toMatchObject({ error: 'csrf' });
    admin.csrf = csrfToken;
    const allowed = await send(admin, 'POST', '/api/admin/users/:id/revoke-sessions', {});
    expect(allowed.status).toBe(200);
  });

  test('/api/reauth needs a session and the CSRF token', async () => {
    await start();
    expect((await h.fetch('/api/reauth', { json: { password: PASSWORD } })).status).toBe(401);
    const admin = await signInPassword(h, 'alice');
    const noToken = await h.fetch('/api/reauth', { json: { password: PASSWORD }, jar: admin.jar });
    expect(noToken.status).toBe(403);
    expect(await jsonOf(noToken)).toMatchObject({ error: 'csrf' });
  });
});

describe("the user's own sensitive actions", () => {
  test('password change, sign out everywhere else and the second-factor routes answer 403 reauth_required outside the window', async () => {
    await start();
    const bob = await signInPassword(h, 'bob');
    clock.advance(WINDOW);
    const routes: Array<[string, unknown]> = [
      ['/api/password', { currentPassword: PASSWORD, newPassword: 'a new password for bob' }],
      ['/api/sessions/revoke-others', {}],
      ['/api/account/second-factor/totp', {}],
      ['/api/account/second-factor/totp/confirm', { code: '123456' }],
      ['/api/account/second-factor/recovery-codes', {}],
      ['/api/account/second-factor/disable', { code: '123456' }],
    ];
    for (const [path, json] of routes) {
      const res = await h.fetch(path, { json, jar: bob.jar, csrf: bob.csrf });
      expect(res.status, path).toBe(403);
      expect(await jsonOf(res), path).toMatchObject({ error: 'reauth_required' });
    }
    // Reading needs no fresh proof.
    expect((await h.fetch('/api/account/second-factor', { jar: bob.jar })).status).toBe(200);
    expect((await h.fetch('/api/sessions', { jar: bob.jar })).status).toBe(200);
  });

  test('an enrolled user re-authenticates with password and code; the password alone is 401 invalid_code', async () => {
    await start();
    const bob = await signInPassword(h, 'bob');
    const { secret, recoveryCodes } = await enrol(h, bob, clock.now);
    clock.advance(WINDOW);
    const refused = await h.fetch('/api/account/second-factor/recovery-codes', {
      method: 'POST',
      jar: bob.jar,
      csrf: bob.csrf,
    });
    expect(refused.status).toBe(403);

    const alone = await h.fetch('/api/reauth', {
      json: { password: PASSWORD },
      jar: bob.jar,
      csrf: bob.csrf,
    });
    expect(alone.status).toBe(401);
    expect(await jsonOf(alone)).toMatchObject({ error: 'invalid_code' });
    const withCode = await h.fetch('/api/reauth', {
      json: { password: PASSWORD, code: totpCode(secret, clock.now()) },
      jar: bob.jar,
      csrf: bob.csrf,
    });
    expect(withCode.status).toBe(200);
    bob.csrf = (await jsonOf<{ csrfToken: string }>(withCode)).csrfToken;
    const codes = await h.fetch('/api/account/second-factor/recovery-codes', {
      method: 'POST',
      jar: bob.jar,
      csrf: bob.csrf,
    });
    expect(codes.status).toBe(200);
    const fresh = (await jsonOf<{ recoveryCodes: string[] }>(codes)).recoveryCodes;
    expect(fresh).toHaveLength(10);
    expect(fresh.some((c) => recoveryCodes.includes(c))).toBe(false);
    // The old set is void.
    clock.advance(30_000);
    const again = await h.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } });
    expect(again.status).toBe(401);
  });

  test('turning the factor off needs a code: wrong → 401 invalid_code; right → 200, a new CSRF token, the user back to one step', async () => {
    await start();
    const bob = await signInPassword(h, 'bob');
    const { secret } = await enrol(h, bob, clock.now);
    clock.advance(30_000);
    const wrong = await h.fetch('/api/account/second-factor/disable', {
      json: { code: '000000' },
      jar: bob.jar,
      csrf: bob.csrf,
    });
    expect(wrong.status).toBe(401);
    expect(await jsonOf(wrong)).toMatchObject({ error: 'invalid_code' });
    const off = await h.fetch('/api/account/second-factor/disable', {
      json: { code: totpCode(secret, clock.now()) },
      jar: bob.jar,
      csrf: bob.csrf,
    });
    expect(off.status).toBe(200);
    bob.csrf = (await jsonOf<{ csrfToken: string }>(off)).csrfToken;
    expect(await jsonOf(await h.fetch('/api/account/second-factor', { jar: bob.jar }))).toMatchObject({
      enabled: false,
    });
    const notAgain = await h.fetch('/api/account/second-factor/disable', {
      json: { code: '000000' },
      jar: bob.jar,
      csrf: bob.csrf,
    });
    expect(notAgain.status).toBe(409);
    await signInPassword(h, 'bob');
  });

  test('a sign-in with a code counts as a proof like the password: recent right after the second step', async () => {
    await start();
    const first = await signInPassword(h, 'bob');
    const { secret } = await enrol(h, first, clock.now);
    clock.advance(WINDOW * 2);
    const bob = await signInTwoSteps(h, 'bob', { code: totpCode(secret, clock.now()) });
    const codes = await h.fetch('/api/account/second-factor/recovery-codes', {
      method: 'POST',
      jar: bob.jar,
      csrf: bob.csrf,
    });
    expect(codes.status).toBe(200);
  });
});

describe('a real wait', () => {
  test('CLOAKROOM_REAUTH_WINDOW=2s: allowed at once, 403 reauth_required after 2.5 s of real time, allowed again after /api/reauth', async () => {
    h = await startHarness({ env: { CLOAKROOM_REAUTH_WINDOW: '2s' } });
    const admin = await signInPassword(h, 'alice');
    expect((await send(admin, 'POST', '/api/admin/users/:id/revoke-sessions', {})).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const late = await send(admin, 'POST', '/api/admin/users/:id/revoke-sessions', {});
    expect(late.status).toBe(403);
    expect(await jsonOf(late)).toMatchObject({ error: 'reauth_required' });
    const renewed = await h.fetch('/api/reauth', {
      json: { password: PASSWORD },
      jar: admin.jar,
      csrf: admin.csrf,
    });
    expect(renewed.status).toBe(200);
    admin.csrf = (await jsonOf<{ csrfToken: string }>(renewed)).csrfToken;
    expect((await send(admin, 'POST', '/api/admin/users/:id/revoke-sessions', {})).status).toBe(200);
  }, 20_000);
});
