import { describe, expect, test } from 'vitest';
import { cookiePair, coreHarness, incoming } from '../support/core.js';

describe('login CSRF (signed double-submit, no server-side session)', () => {
  test('the login page gets a token and a nonce cookie; the pair verifies', () => {
    const { sessions } = coreHarness();
    const page = sessions.issueLoginToken(incoming());
    expect(page.setCookie[0]).toMatch(
      /^cloakroom-login=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=7200$/,
    );
    expect(
      sessions.checkLoginToken(
        incoming({ method: 'POST', cookie: cookiePair(page.setCookie[0]) }),
        page.token,
      ),
    ).toBe(true);
  });

  test('no store write happens for an anonymous visitor', () => {
    const { sessions, calls } = coreHarness();
    sessions.issueLoginToken(incoming());
    expect(calls).toEqual({});
  });

  test('a token without its cookie, or with another visitor cookie, is refused', () => {
    const { sessions } = coreHarness();
    const mine = sessions.issueLoginToken(incoming());
    const theirs = sessions.issueLoginToken(incoming());
    expect(sessions.checkLoginToken(incoming({ method: 'POST' }), mine.token)).toBe(false);
    expect(
      sessions.checkLoginToken(
        incoming({ method: 'POST', cookie: cookiePair(theirs.setCookie[0]) }),
        mine.token,
      ),
    ).toBe(false);
  });

  test('a session cookie cannot serve as a login nonce + token pair (keys are separated by purpose)', async () => {
    // The session cookie is token.HMAC(key, token); a login pair is nonce + HMAC(key, nonce).
    // Both halves have the login pair's exact shape, so only purpose-separated keys refuse it.
    const { sessions } = coreHarness();
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const [token, signature] = cookiePair(issued.setCookie[0]).split('=')[1]!.split('.') as [string, string];
    expect(token).toHaveLength(43);
    expect(signature).toHaveLength(43);
    expect(
      sessions.checkLoginToken(incoming({ method: 'POST', cookie: `cloakroom-login=${token}` }), signature),
    ).toBe(false);
  });

  test('a tossed cookie with an attacker-chosen value cannot be paired with a token', () => {
    const { sessions } = coreHarness();
    const nonce = 'A'.repeat(43);
    for (const token of [nonce, 'B'.repeat(43), '']) {
      expect(
        sessions.checkLoginToken(incoming({ method: 'POST', cookie: `cloakroom-login=${nonce}` }), token),
      ).toBe(false);
    }
  });

  test('the nonce is reused while the cookie lives, so two tabs both work', () => {
    const { sessions } = coreHarness();
    const first = sessions.issueLoginToken(incoming());
    const cookie = cookiePair(first.setCookie[0]);
    const second = sessions.issueLoginToken(incoming({ cookie }));
    expect(second.setCookie).toEqual([]);
    expect(sessions.checkLoginToken(incoming({ method: 'POST', cookie }), first.token)).toBe(true);
  });

  test('a sign-in whose Origin is foreign is refused by the origin gate', () => {
    const { sessions } = coreHarness();
    expect(
      sessions.checkOrigin(incoming({ method: 'POST', origin: 'https://evil.test', site: 'cross-site' })),
    ).toBe('cross-site');
    expect(
      sessions.checkOrigin(incoming({ method: 'POST', origin: 'http://app.test:9999', site: 'same-site' })),
    ).toBe('same-site');
    expect(sessions.checkOrigin(incoming({ method: 'POST' }))).toBeNull();
  });
});
