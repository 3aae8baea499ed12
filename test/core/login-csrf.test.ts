import { describe, expect, test } from 'vitest';
import {
  cookiePair,
  cookieValueOf,
  coreHarness,
  flip,
  incoming,
  SECRET_A,
  SECRET_B,
  SECRET_C,
} from '../support/core.js';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** `text` with a spare bit set in its last character: it decodes to the same 32 bytes. */
const respelled = (text: string) => text.slice(0, -1) + BASE64URL[BASE64URL.indexOf(text.at(-1)!) | 1];

/** A sign-in request carrying the login cookie `value` (the plain-HTTP name). */
const post = (value: string) => incoming({ method: 'POST', cookie: `cloakroom-login=${value}` });

describe('login CSRF (signed double-submit, no server-side session)', () => {
  test('the login page gets a token and a server-minted nonce cookie (nonce.mac); the pair verifies', () => {
    const { sessions } = coreHarness();
    const page = sessions.issueLoginToken(incoming());
    expect(page.setCookie).toEqual([
      expect.stringMatching(
        /^cloakroom-login=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=7200$/,
      ),
    ]);
    expect(sessions.checkLoginToken(post(cookieValueOf(page.setCookie[0])), page.token)).toBe(true);
  });

  test('over HTTPS the nonce cookie is __Host-, Secure and HttpOnly, and the pair verifies', () => {
    const { sessions } = coreHarness();
    const page = sessions.issueLoginToken(incoming({ https: true }));
    expect(page.setCookie).toEqual([
      expect.stringMatching(
        /^__Host-cloakroom-login=[\w-]{43}\.[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=7200$/,
      ),
    ]);
    const cookie = cookiePair(page.setCookie[0]);
    expect(sessions.checkLoginToken(incoming({ method: 'POST', https: true, cookie }), page.token)).toBe(
      true,
    );
    // Over HTTPS only the __Host- name counts: a cookie without the prefix may have been set
    // over plain HTTP or by a sibling domain.
    expect(
      sessions.checkLoginToken(
        incoming({
          method: 'POST',
          https: true,
          cookie: `cloakroom-login=${cookieValueOf(page.setCookie[0])}`,
        }),
        page.token,
      ),
    ).toBe(false);
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

  test('a session cookie cannot serve as a login nonce cookie (keys are separated by purpose)', async () => {
    // The session cookie is token.HMAC(session key, token): the exact shape of a login cookie,
    // nonce.MAC(login key, nonce). Only purpose-separated keys tell them apart.
    const { sessions } = coreHarness();
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const value = cookieValueOf(issued.setCookie[0]);
    const [token, signature] = value.split('.') as [string, string];
    expect(token).toHaveLength(43);
    expect(signature).toHaveLength(43);
    for (const candidate of [signature, token])
      expect(sessions.checkLoginToken(post(value), candidate)).toBe(false);
    expect(sessions.issueLoginToken(post(value)).setCookie).toHaveLength(1);
  });

  test('a self-chosen nonce cookie is replaced by a minted one, never signed', () => {
    // Regression: the login page signed whatever well-formed nonce the browser sent, so a client
    // could pick a nonce, get its token from the page, and toss the pair into a victim's browser.
    const { sessions } = coreHarness();
    const chosen = 'A'.repeat(43);
    for (const value of [chosen, `${chosen}.${'B'.repeat(43)}`, `${chosen}.${chosen}`]) {
      const page = sessions.issueLoginToken(incoming({ cookie: `cloakroom-login=${value}` }));
      expect(page.setCookie, value).toHaveLength(1);
      const minted = cookieValueOf(page.setCookie[0]);
      expect(minted.startsWith(chosen), value).toBe(false);
      // The token the page gave out belongs to the fresh nonce, not to the chosen one.
      expect(sessions.checkLoginToken(post(value), page.token), value).toBe(false);
      expect(sessions.checkLoginToken(post(minted), page.token), value).toBe(true);
    }
  });

  test('a cookie with an attacker-chosen value cannot be paired with any token', () => {
    const { sessions } = coreHarness();
    const nonce = 'A'.repeat(43);
    for (const value of [nonce, `${nonce}.${nonce}`, `${nonce}.${'B'.repeat(43)}`]) {
      for (const token of [nonce, 'B'.repeat(43), '']) {
        expect(sessions.checkLoginToken(post(value), token)).toBe(false);
      }
    }
  });

  test('a tampered nonce cookie is refused and replaced, whichever character changed', () => {
    const { sessions } = coreHarness();
    const page = sessions.issueLoginToken(incoming());
    const value = cookieValueOf(page.setCookie[0]);
    for (let i = 0; i < value.length; i++) {
      // Flipping A↔B in the last character only touches its 2 spare bits: refused all the same.
      const tampered = flip(value, i);
      expect(sessions.checkLoginToken(post(tampered), page.token), `character ${i}`).toBe(false);
      const again = sessions.issueLoginToken(incoming({ cookie: `cloakroom-login=${tampered}` }));
      expect(again.setCookie, `character ${i}`).toHaveLength(1);
    }
    // Another spelling of the same MAC bytes is not the cookie the server set.
    expect(sessions.checkLoginToken(post(respelled(value)), page.token)).toBe(false);
    for (const broken of [
      value.slice(0, 43),
      value.replace('.', ''),
      `${value}.`,
      `${value}A`,
      `"${value}"`,
    ]) {
      expect(sessions.checkLoginToken(post(broken), page.token), broken).toBe(false);
    }
    expect(sessions.checkLoginToken(post(value), page.token)).toBe(true);
  });

  test('a form token is not the nonce cookie MAC, and a tampered token is refused', () => {
    const { sessions } = coreHarness();
    const page = sessions.issueLoginToken(incoming());
    const value = cookieValueOf(page.setCookie[0]);
    const mac = value.slice(44);
    expect(mac).not.toBe(page.token);
    expect(sessions.checkLoginToken(post(value), mac)).toBe(false);
    for (let i = 0; i < page.token.length; i++) {
      expect(sessions.checkLoginToken(post(value), flip(page.token, i)), `character ${i}`).toBe(false);
    }
    expect(sessions.checkLoginToken(post(value), respelled(page.token))).toBe(false);
  });

  test('key rotation: a pair minted under an older key that is still kept verifies; under a retired key it is refused and replaced', () => {
    const before = coreHarness({ secrets: [SECRET_A] }).sessions;
    const page = before.issueLoginToken(incoming());
    const value = cookieValueOf(page.setCookie[0]);

    const rotated = coreHarness({ secrets: [SECRET_B, SECRET_A] }).sessions;
    expect(rotated.checkLoginToken(post(value), page.token)).toBe(true);
    // The open form keeps its nonce; the page now signs with the newest key, and that verifies too.
    const reloaded = rotated.issueLoginToken(incoming({ cookie: `cloakroom-login=${value}` }));
    expect(reloaded.setCookie).toEqual([]);
    expect(rotated.checkLoginToken(post(value), reloaded.token)).toBe(true);

    const retired = coreHarness({ secrets: [SECRET_C, SECRET_B] }).sessions;
    expect(retired.checkLoginToken(post(value), page.token)).toBe(false);
    expect(retired.checkLoginToken(post(value), reloaded.token)).toBe(false);
    const fresh = retired.issueLoginToken(incoming({ cookie: `cloakroom-login=${value}` }));
    expect(fresh.setCookie).toHaveLength(1);
    expect(retired.checkLoginToken(post(value), fresh.token)).toBe(false);
    expect(retired.checkLoginToken(post(cookieValueOf(fresh.setCookie[0])), fresh.token)).toBe(true);
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
