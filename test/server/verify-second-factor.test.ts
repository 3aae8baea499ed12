import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { enrol, signInPassword, signInTwoSteps, totpCode } from '../support/second-factor-api.js';
import { jsonOf, PASSWORD, type ServerHarness, startHarness } from '../support/server.js';

// /auth/verify?mfa=1 (a service that demands a second factor) and X-Auth-Methods (how the
// session was signed in, RFC 8176 names) on every 200.

let clock: ManualClock;
let h: ServerHarness;
beforeEach(async () => {
  clock = manualClock();
  h = await startHarness({ clock });
});
afterEach(async () => h.close());

describe('X-Auth-Methods', () => {
  test('a password sign-in: pwd; with a code: pwd,otp; only on 200', async () => {
    const plain = await signInPassword(h, 'bob');
    const ok = await h.fetch('/auth/verify', { jar: plain.jar });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-auth-methods')).toBe('pwd');

    const { secret } = await enrol(h, plain, clock.now);
    clock.advance(30_000);
    const strong = await signInTwoSteps(h, 'bob', { code: totpCode(secret, clock.now()) });
    const res = await h.fetch('/auth/verify', { jar: strong.jar });
    expect(res.headers.get('x-auth-methods')).toBe('pwd,otp');

    const denied = await h.fetch('/auth/verify?role=admin', { jar: strong.jar });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('x-auth-methods')).toBeNull();
    const signedOut = await h.fetch('/auth/verify');
    expect(signedOut.headers.get('x-auth-methods')).toBeNull();
  });

  test('a re-authentication with a code keeps pwd,otp', async () => {
    const plain = await signInPassword(h, 'bob');
    const { secret } = await enrol(h, plain, clock.now);
    clock.advance(30_000);
    const bob = await signInTwoSteps(h, 'bob', { code: totpCode(secret, clock.now()) });
    clock.advance(30_000);
    const re = await h.fetch('/api/reauth', {
      json: { password: PASSWORD, code: totpCode(secret, clock.now()) },
      jar: bob.jar,
      csrf: bob.csrf,
    });
    expect(re.status).toBe(200);
    expect((await h.fetch('/auth/verify', { jar: bob.jar })).headers.get('x-auth-methods')).toBe('pwd,otp');
  });
});

describe('?mfa=1', () => {
  test('a session signed in with the password alone: 403 second_factor_required, no identity headers', async () => {
    const bob = await signInPassword(h, 'bob');
    const res = await h.fetch('/auth/verify?mfa=1', { jar: bob.jar });
    expect(res.status).toBe(403);
    expect(await jsonOf(res)).toMatchObject({ error: 'second_factor_required' });
    for (const name of ['x-auth-user', 'x-auth-user-id', 'x-auth-roles', 'x-auth-methods'])
      expect(res.headers.get(name), name).toBeNull();
  });

  test('a session that proved a code passes (the two-step sign-in, or the enrolment confirmed in it); another session of the same user signed in with the password alone does not', async () => {
    const other = await signInPassword(h, 'bob');
    const bob = await signInPassword(h, 'bob');
    const { secret } = await enrol(h, bob, clock.now);
    expect((await h.fetch('/auth/verify?mfa=1', { jar: other.jar })).status).toBe(403);
    const confirmed = await h.fetch('/auth/verify?mfa=1', { jar: bob.jar });
    expect(confirmed.status).toBe(200);
    expect(confirmed.headers.get('x-auth-methods')).toBe('pwd,otp');
    clock.advance(30_000);
    const strong = await signInTwoSteps(h, 'bob', { code: totpCode(secret, clock.now()) });
    const res = await h.fetch('/auth/verify?mfa=1', { jar: strong.jar });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-auth-user')).toBe('bob');
    expect(res.headers.get('x-auth-methods')).toBe('pwd,otp');
  });

  test('with a role too: the role is checked, then the factor', async () => {
    const alice = await signInPassword(h, 'alice');
    expect((await h.fetch('/auth/verify?role=admin&mfa=1', { jar: alice.jar })).status).toBe(403);
    const bob = await signInPassword(h, 'bob');
    const res = await h.fetch('/auth/verify?mfa=1&role=admin', { jar: bob.jar });
    expect(await jsonOf(res)).toMatchObject({ error: 'forbidden' });
  });

  test('signed out: 401 as ever, with X-Auth-Redirect', async () => {
    const res = await h.fetch('/auth/verify?mfa=1', { headers: { 'x-original-uri': '/app/' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-auth-redirect')).toBe(`/login?next=${encodeURIComponent('/app/')}`);
  });

  test('a repeated mfa, or any value but 1, is 400 — never a quiet pass', async () => {
    const bob = await signInPassword(h, 'bob');
    for (const query of [
      '?mfa=1&mfa=1',
      '?mfa=0&mfa=1',
      '?mfa=1&mfa=0',
      '?mfa=true',
      '?mfa=',
      '?mfa=yes',
      '?mfa=0',
    ]) {
      const res = await h.fetch(`/auth/verify${query}`, { jar: bob.jar });
      expect(res.status, query).toBe(400);
      expect(await jsonOf(res), query).toMatchObject({ error: 'bad_request' });
    }
  });
});
