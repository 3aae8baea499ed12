import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { enrol, signInPassword, signInTwoSteps, totpCode } from '../support/second-factor-api.js';
import { jsonOf, PASSWORD, type ServerHarness, startHarness } from '../support/server.js';

// CLOAKROOM_REQUIRE_2FA_ROLES=admin: an admin without a second factor may enrol and sign out,
// nothing else, until they enrol; everyone else is unaffected.

let clock: ManualClock;
let h: ServerHarness;
beforeEach(async () => {
  clock = manualClock();
  h = await startHarness({ clock, env: { CLOAKROOM_REQUIRE_2FA_ROLES: 'admin' } });
});
afterEach(async () => h.close());

describe('a user with a required role and no second factor', () => {
  test('API: 403 second_factor_required everywhere but the session, sign-out, re-auth and enrolment', async () => {
    const alice = await signInPassword(h, 'alice');
    const refused: Array<[string, string, unknown?]> = [
      ['GET', '/api/sessions'],
      ['GET', '/api/admin/users'],
      ['PATCH', '/api/profile', { displayName: 'A' }],
      ['POST', '/api/sessions/revoke-others'],
      ['POST', `/api/admin/users/${h.ids.bob}/revoke-sessions`],
      ['GET', '/auth/verify'],
    ];
    for (const [method, path, json] of refused) {
      const res = await h.fetch(path, {
        method,
        jar: alice.jar,
        csrf: alice.csrf,
        ...(json === undefined ? {} : { json }),
      });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(await jsonOf(res), `${method} ${path}`).toMatchObject({ error: 'second_factor_required' });
    }
    const me = await h.fetch('/api/session', { jar: alice.jar });
    expect(me.status).toBe(200);
    expect((await jsonOf<{ user: { secondFactor: boolean } }>(me)).user.secondFactor).toBe(false);
    expect((await h.fetch('/api/account/second-factor', { jar: alice.jar })).status).toBe(200);
  });

  test('pages: sent to /account/second-factor, except that page, /logout, /reauth and the stylesheet', async () => {
    const alice = await signInPassword(h, 'alice');
    for (const page of ['/account', '/admin', '/']) {
      const res = await h.fetch(page, { jar: alice.jar });
      expect(res.status, page).toBe(303);
      expect(res.headers.get('location'), page).toBe('/account/second-factor');
    }
    const post = await h.fetch('/account/profile', {
      form: { displayName: 'A', _csrf: alice.csrf },
      jar: alice.jar,
    });
    expect(post.status).toBe(303);
    expect(post.headers.get('location')).toBe('/account/second-factor');
    expect((await h.fetch('/account/second-factor', { jar: alice.jar })).status).toBe(200);
    expect((await h.fetch('/reauth', { jar: alice.jar })).status).toBe(200);
    expect((await h.fetch('/assets/cloakroom.css', { jar: alice.jar })).status).toBe(200);
    const out = await h.fetch('/logout', { form: { _csrf: alice.csrf }, jar: alice.jar });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/login');
    expect((await h.fetch('/api/session', { jar: alice.jar })).status).toBe(401);
  });

  test('once enrolled, everything works; an admin reset of the factor sends them back to enrolment on their next sign-in', async () => {
    const alice = await signInPassword(h, 'alice');
    const { secret } = await enrol(h, alice, clock.now);
    expect((await h.fetch('/api/admin/users', { jar: alice.jar })).status).toBe(200);
    expect((await h.fetch('/auth/verify', { jar: alice.jar })).status).toBe(200);

    // A second admin resets alice's factor: her sessions end; signed in again with the
    // password alone she is back to enrolment only.
    await h.createUser('carol', { roles: ['admin'] });
    clock.advance(30_000);
    const carol = await signInPassword(h, 'carol');
    const carolFactor = await enrol(h, carol, clock.now);
    expect(carolFactor.secret).not.toBe(secret);
    const reset = await h.fetch(`/api/admin/users/${h.ids.alice}/second-factor/reset`, {
      method: 'POST',
      jar: carol.jar,
      csrf: carol.csrf,
    });
    expect(reset.status).toBe(200);
    expect(await jsonOf(reset)).toMatchObject({ user: { id: h.ids.alice, secondFactor: false }, revoked: 1 });
    expect((await h.fetch('/api/session', { jar: alice.jar })).status).toBe(401);
    const again = await signInPassword(h, 'alice');
    expect((await h.fetch('/api/admin/users', { jar: again.jar })).status).toBe(403);
  });

  test('the rule reads the user fresh: a role given to a signed-in user applies on their next request', async () => {
    const bob = await signInPassword(h, 'bob');
    expect((await h.fetch('/api/sessions', { jar: bob.jar })).status).toBe(200);
    await h.deps.users.update(h.ids.bob, { roles: ['admin'] }, clock.now());
    const res = await h.fetch('/api/sessions', { jar: bob.jar });
    expect(res.status).toBe(403);
    expect(await jsonOf(res)).toMatchObject({ error: 'second_factor_required' });
  });
});

describe('everyone else', () => {
  test('a user without a required role is not affected', async () => {
    const bob = await signInPassword(h, 'bob');
    expect((await h.fetch('/api/sessions', { jar: bob.jar })).status).toBe(200);
    expect((await h.fetch('/auth/verify', { jar: bob.jar })).status).toBe(200);
    expect((await h.fetch('/account', { jar: bob.jar })).status).toBe(200);
  });

  test('an enrolled admin signed in with a code passes everywhere', async () => {
    const first = await signInPassword(h, 'alice');
    const { secret } = await enrol(h, first, clock.now);
    clock.advance(30_000);
    const alice = await signInTwoSteps(h, 'alice', { code: totpCode(secret, clock.now()) });
    expect((await h.fetch('/api/admin/users', { jar: alice.jar })).status).toBe(200);
    expect((await h.fetch('/admin', { jar: alice.jar })).status).toBe(200);
  });
});

describe('an enrolled user with a required role, on a session signed in with the password alone', () => {
  test('is sent to /reauth (pages) or refused (API, /auth/verify) until a code confirms the session', async () => {
    // Signed in on a second device before enrolling: that session proved the password only.
    const laptop = await signInPassword(h, 'alice');
    const phone = await signInPassword(h, 'alice');
    const { secret } = await enrol(h, laptop, clock.now);
    expect((await h.fetch('/api/admin/users', { jar: laptop.jar })).status).toBe(200);

    for (const path of ['/api/admin/users', '/api/sessions', '/auth/verify']) {
      const res = await h.fetch(path, { jar: phone.jar });
      expect(res.status, path).toBe(403);
      expect(await jsonOf(res), path).toMatchObject({ error: 'second_factor_required' });
    }
    const page = await h.fetch('/admin?tab=users', { jar: phone.jar });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe(`/reauth?next=${encodeURIComponent('/admin?tab=users')}`);

    clock.advance(30_000);
    const confirmed = await h.fetch('/api/reauth', {
      json: { password: PASSWORD, code: totpCode(secret, clock.now()) },
      jar: phone.jar,
      csrf: phone.csrf,
    });
    expect(confirmed.status).toBe(200);
    expect((await h.fetch('/api/admin/users', { jar: phone.jar })).status).toBe(200);
    const verify = await h.fetch('/auth/verify', { jar: phone.jar });
    expect(verify.status).toBe(200);
    expect(verify.headers.get('x-auth-methods')).toBe('pwd,otp');
  });
});
