import { describe, expect, test } from 'vitest';
import { coreHarness, incoming, type RequestSpec } from '../support/core.js';

async function signedIn(options: Parameters<typeof coreHarness>[0] = {}) {
  const h = coreHarness(options);
  const issued = await h.sessions.create(incoming(), { userId: 'alice' });
  return { ...h, session: issued.session, token: issued.csrfToken };
}

describe('CSRF: origin gate and masked tokens', () => {
  const OWN = 'http://app.test';
  const cases: Array<[string, RequestSpec, 'token' | 'none', string | null]> = [
    ['same-origin fetch with a valid token passes', { origin: OWN, site: 'same-origin' }, 'token', null],
    [
      'cross-site is refused even with a valid token',
      { origin: 'https://evil.test', site: 'cross-site' },
      'token',
      'cross-site',
    ],
    [
      'same-site (sibling subdomain / other port) is refused',
      { origin: 'http://app.test:8080', site: 'same-site' },
      'token',
      'same-site',
    ],
    ['Sec-Fetch-Site: none still needs a token', { site: 'none' }, 'none', 'missing-token'],
    ['Sec-Fetch-Site: none with a valid token passes', { site: 'none' }, 'token', null],
    ['no Origin and no Fetch Metadata still needs a token', {}, 'none', 'missing-token'],
    ['no Origin and no Fetch Metadata with a token passes', {}, 'token', null],
    ['Origin: null is refused', { origin: 'null' }, 'token', 'null-origin'],
    ['a look-alike origin is refused', { origin: 'http://app.test.evil.test' }, 'token', 'foreign-origin'],
    ['another scheme is refused', { origin: 'https://app.test' }, 'token', 'foreign-origin'],
    ['another port is refused', { origin: 'http://app.test:8443' }, 'token', 'foreign-origin'],
    [
      'an unknown Sec-Fetch-Site value falls back to the Origin check',
      { origin: 'https://evil.test', site: 'bogus' },
      'token',
      'foreign-origin',
    ],
  ];
  for (const [name, spec, send, expected] of cases) {
    test(name, async () => {
      const { sessions, session, token } = await signedIn();
      const req = incoming({ method: 'POST', ...spec });
      expect(sessions.checkCsrf(req, session, send === 'token' ? token : undefined)).toBe(expected);
    });
  }

  test('safe methods are never refused', async () => {
    const { sessions, session } = await signedIn();
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      expect(
        sessions.checkOrigin(incoming({ method, origin: 'https://evil.test', site: 'cross-site' })),
      ).toBeNull();
      expect(
        sessions.checkCsrf(incoming({ method, origin: 'https://evil.test' }), session, undefined),
      ).toBeNull();
    }
  });

  test('every unsafe method and unknown verb is checked', async () => {
    const { sessions, session } = await signedIn();
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'FOO']) {
      expect(sessions.checkCsrf(incoming({ method }), session, undefined)).toBe('missing-token');
    }
  });

  test('trusted origins may send unsafe requests, exact match only', async () => {
    const { sessions, session, token } = await signedIn({ trustedOrigins: ['https://admin.example.com'] });
    const post = (spec: RequestSpec) =>
      sessions.checkCsrf(incoming({ method: 'POST', ...spec }), session, token);
    expect(post({ origin: 'https://admin.example.com', site: 'cross-site' })).toBeNull();
    expect(post({ origin: 'https://admin.example.com.evil.test', site: 'cross-site' })).toBe('cross-site');
    expect(post({ origin: 'http://admin.example.com' })).toBe('foreign-origin');
  });

  test('tokens are masked: each differs, all verify', async () => {
    const { sessions, session } = await signedIn();
    const tokens = new Set(Array.from({ length: 20 }, () => sessions.csrfToken(session)));
    expect(tokens.size).toBe(20);
    for (const t of tokens) expect(sessions.checkCsrf(incoming({ method: 'POST' }), session, t)).toBeNull();
  });

  test('a token from another session is refused (tokens are bound to their session)', async () => {
    const { sessions, session } = await signedIn();
    const other = await sessions.create(incoming(), { userId: 'mallory' });
    expect(sessions.checkCsrf(incoming({ method: 'POST' }), session, other.csrfToken)).toBe('bad-token');
  });

  test('malformed tokens are refused cleanly, never thrown', async () => {
    const { sessions, session, token } = await signedIn();
    const bad = [
      'é'.repeat(86),
      'a',
      'x'.repeat(10_000),
      '',
      ' ',
      `${token}=`,
      token.slice(0, -1),
      token.toUpperCase(),
    ];
    for (const t of bad) {
      const verdict = sessions.checkCsrf(incoming({ method: 'POST' }), session, t);
      expect(['bad-token', 'missing-token']).toContain(verdict);
    }
  });

  test('a session cookie value is not a CSRF token (separate purposes)', async () => {
    const h = coreHarness();
    const issued = await h.sessions.create(incoming(), { userId: 'alice' });
    const cookieValue = issued.setCookie[0]!.split(';')[0]!.split('=')[1]!;
    expect(h.sessions.checkCsrf(incoming({ method: 'POST' }), issued.session, cookieValue)).toBe('bad-token');
  });
});
