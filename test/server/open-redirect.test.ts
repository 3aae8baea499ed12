import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { safeNext } from '../../packages/server/src/server/web/helpers.js';
import { PASSWORD, type ServerHarness, startHarness } from '../support/server.js';

/**
 * Values of `next` that must never leave our origin. The dot-segment ones are the regression:
 * safeNext checked the raw value, then returned its normalised form unchecked, so
 * `/.//evil.com` came back as `//evil.com` (a scheme-relative URL: another host).
 */
const ESCAPES = [
  '//evil.com',
  '///evil.com',
  '/\\evil.com',
  '/%5Cevil.com',
  '/%5cevil.com',
  '/%2Fevil.com',
  '/%2f/evil.com',
  'https://evil.com',
  'http:/evil.com',
  'javascript:alert(1)',
  'evil.com',
  ' /account',
  '/.//evil.com',
  '/..//evil.com',
  '/a/..//evil.com',
  '/a/b/../..//evil.com',
  '/././/evil.com',
  '/%2e//evil.com',
  '/%2E//evil.com',
  '/%2e%2e//evil.com',
  '/%2E%2E//evil.com',
  '/.%2e//evil.com',
  '/a/%2e%2e//evil.com',
  '/%2e%2e/%2e%2e//evil.com',
  '/\t/evil.com',
  '/\n/evil.com',
  '/\r\n//evil.com',
  '/account\u0000',
  '/account\u007f',
  '/./\\evil.com',
  '/login',
  '/logout',
  '/./login',
  '',
];

/** Harmless values and the exact path they come back as. */
const LOCAL: Array<[string, string]> = [
  ['/account', '/account'],
  ['/admin', '/admin'],
  ['/b/', '/b/'],
  ['/account?tab=sessions', '/account?tab=sessions'],
  ['/a/../admin', '/admin'],
  ['/./account', '/account'],
  ['/%2e%2e/account', '/account'],
  ['/..', '/'],
  ['/account#devices', '/account'],
  ['/search?q=//evil.com', '/search?q=//evil.com'],
];

describe('safeNext: only same-origin paths (no open redirect)', () => {
  test.each(ESCAPES)('%j falls back to /account', (raw) => {
    expect(safeNext(raw)).toBe('/account');
  });

  test.each(LOCAL)('%j is kept as %j', (raw, expected) => {
    expect(safeNext(raw)).toBe(expected);
  });

  test('non-strings and over-long values fall back to /account', () => {
    for (const raw of [
      undefined,
      null,
      42,
      ['/admin'],
      { toString: () => '/admin' },
      `/${'a'.repeat(600)}`,
    ]) {
      expect(safeNext(raw)).toBe('/account');
    }
  });

  test('whatever comes back starts with exactly one / and has no \\ or control characters', () => {
    for (const raw of [...ESCAPES, ...LOCAL.map(([value]) => value)]) {
      const next = safeNext(raw);
      expect(next).toMatch(/^\/(?!\/)/);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
      expect(next).not.toMatch(/[\\\u0000-\u001f\u007f]/);
      expect(new URL(next, 'https://ours.test').origin).toBe('https://ours.test');
    }
  });
});

describe('the /login redirect over real HTTP (no open redirect)', () => {
  let h: ServerHarness;
  let cookie: string;
  beforeAll(async () => {
    h = await startHarness();
    cookie = (await h.login('bob')).cookie;
  });
  afterAll(async () => h.close());

  const ATTACKS = ESCAPES.filter((v) => v !== '');

  test.each(ATTACKS)('signed in, GET /login?next=%j answers 303 to /account', async (next) => {
    const res = await h.fetch(`/login?next=${encodeURIComponent(next)}`, { cookie });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/account');
  });

  test('signed in, GET /login?next=/admin still goes to /admin', async () => {
    const res = await h.fetch('/login?next=%2Fadmin', { cookie });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin');
  });

  test.each(['/.//evil.com', '/..//evil.com', '/%2e%2e//evil.com', '//evil.com', '/\\evil.com'])(
    'POST /login with next=%j signs in and answers 303 to /account',
    async (next) => {
      const form = h.loginFormToken();
      const res = await h.fetch('/login', {
        cookie: form.cookie,
        form: { username: 'bob', password: PASSWORD, _csrf: form.token, next },
      });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/account');
    },
  );
});
