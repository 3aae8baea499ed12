import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { type HonoHarness, honoHarness } from '../../support/hono-app.js';

let h: HonoHarness;
beforeEach(async () => {
  h = await honoHarness();
});
afterEach(async () => h.close());

describe('hono adapter: guards and the user on the context', () => {
  test('signed out: requireUser answers 401 with the documented error shape', async () => {
    const res = await h.request('/me');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'unauthenticated', message: expect.any(String) });
  });

  test('signed in: the session and a user without password hash are on the context', async () => {
    const { cookie } = await h.login('alice');
    const res = await h.request('/me', { cookie });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { user: Record<string, unknown>; session: { userId: string } };
    expect(body.user).toEqual({
      id: h.ids.alice,
      username: 'alice',
      displayName: 'alice',
      roles: ['admin'],
      secondFactor: false,
    });
    expect(JSON.stringify(body)).not.toMatch(/argon2|passwordHash/);
    expect(body.session.userId).toBe(h.ids.alice);
  });

  test('requireRole: 403 without the role, 200 with it', async () => {
    const bob = await h.login('bob');
    expect((await h.request('/admin', { cookie: bob.cookie })).status).toBe(403);
    expect(await (await h.request('/admin', { cookie: bob.cookie })).json()).toMatchObject({
      error: 'forbidden',
    });
    const alice = await h.login('alice');
    expect((await h.request('/admin', { cookie: alice.cookie })).status).toBe(200);
    expect((await h.request('/admin')).status).toBe(401);
  });

  test("a role change takes effect on the user's very next request", async () => {
    const alice = await h.login('alice');
    expect((await h.request('/admin', { cookie: alice.cookie })).status).toBe(200);
    await h.store.users.update(h.ids.alice, { roles: [] }, h.clock.now());
    expect((await h.request('/admin', { cookie: alice.cookie })).status).toBe(403);
    await h.store.users.update(h.ids.bob, { roles: ['admin'] }, h.clock.now());
    const bob = await h.login('bob');
    expect((await h.request('/admin', { cookie: bob.cookie })).status).toBe(200);
  });

  test("locking a user takes effect on the user's very next request", async () => {
    const bob = await h.login('bob');
    expect((await h.request('/me', { cookie: bob.cookie })).status).toBe(200);
    await h.store.users.update(h.ids.bob, { locked: true }, h.clock.now());
    expect((await h.request('/me', { cookie: bob.cookie })).status).toBe(401);
    await h.store.users.update(h.ids.bob, { locked: false }, h.clock.now());
    expect((await h.login('bob')).response.status).toBe(200);
  });

  test('a handler answering with immutable headers (Response.redirect) still gets no-store and its cookies', async () => {
    const { cookie, csrf } = await h.login('alice');
    const bounced = await h.request('/bounce', { cookie });
    expect(bounced.status).toBe(302);
    expect(bounced.headers.get('location')).toBe('http://localhost/elsewhere');
    expect(bounced.headers.get('cache-control')).toBe('no-store');
    const out = await h.request('/logout-bounce', {
      method: 'POST',
      cookie,
      headers: { 'x-csrf-token': csrf },
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/^cloakroom=; Path=\/; HttpOnly; SameSite=Lax; Max-Age=0/);
    expect(out.headers.get('cache-control')).toBe('no-store');
    expect((await h.request('/me', { cookie })).status).toBe(401);
  });

  test('sign-out: 204, the cookie is cleared, and the old cookie is dead', async () => {
    const { cookie, csrf } = await h.login('alice');
    const out = await h.request('/logout', { method: 'POST', cookie, headers: { 'x-csrf-token': csrf } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^cloakroom=; Path=\/; HttpOnly; SameSite=Lax; Max-Age=0/);
    expect((await h.request('/me', { cookie })).status).toBe(401);
  });

  test('responses that set a session cookie are not cacheable', async () => {
    const { response } = await h.login('alice');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  test('sign-in through the adapter replaces a planted session (fixation)', async () => {
    const mallory = await h.login('bob');
    const res = await h.request('/login', {
      method: 'POST',
      cookie: mallory.cookie,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'correct horse battery staple' }),
    });
    const fresh = res.headers.get('set-cookie')!.split(';')[0]!;
    expect(fresh).not.toBe(mallory.cookie);
    expect((await h.request('/me', { cookie: mallory.cookie })).status).toBe(401);
    expect(
      ((await (await h.request('/me', { cookie: fresh })).json()) as { user: { username: string } }).user
        .username,
    ).toBe('alice');
  });

  test('rotation from a handler: new cookie works, old one is dead', async () => {
    const { cookie, csrf } = await h.login('alice');
    const res = await h.request('/rotate', { method: 'POST', cookie, headers: { 'x-csrf-token': csrf } });
    const fresh = res.headers.get('set-cookie')!.split(';')[0]!;
    expect((await h.request('/me', { cookie })).status).toBe(401);
    expect((await h.request('/me', { cookie: fresh })).status).toBe(200);
  });

  test('an expired session is refused with 401 and its cookie cleared', async () => {
    const { cookie } = await h.login('alice');
    h.clock.advance(31 * 60_000);
    const res = await h.request('/me', { cookie });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toMatch(/Max-Age=0/);
  });
});
