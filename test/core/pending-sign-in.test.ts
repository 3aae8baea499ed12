import { describe, expect, test } from 'vitest';
import { createKeyring, type KeyPurpose } from '../../packages/cloakroom/src/core/keyring.js';
import { nodeCrypto } from '../../packages/cloakroom/src/core/node-crypto.js';
import type { PendingSignIn } from '../../packages/cloakroom/src/core/pending.js';
import { createSessions } from '../../packages/cloakroom/src/core/sessions.js';
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

// The state between a password and a second factor (core/pending.ts): its own signed HttpOnly
// cookie, short-lived, and never a session — no cookie of another purpose passes for it, and it
// passes for no other.

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const STATE = { userId: 'alice', epoch: 4, remember: true, methods: ['pwd'] } as const;
const FIVE_MINUTES = 5 * 60_000;

/** A request carrying `value` as the pending cookie (the plain-HTTP name unless `https`). */
const withPending = (value: string, https = false) =>
  incoming({ https, cookie: `${https ? '__Host-' : ''}cloakroom-pending=${value}` });

/** A pending state issued now, and its cookie's value. */
function issued(h = coreHarness()) {
  const { pending, setCookie } = h.sessions.issuePending(incoming(), STATE);
  return { ...h, pending, setCookie, value: cookieValueOf(setCookie[0]) };
}

/** `body.mac` with a MAC under `purpose`'s key of `secret`, as pending.ts would sign it. */
function signAs(purpose: KeyPurpose, body: string, secret = SECRET_A): string {
  const keyring = createKeyring([secret], nodeCrypto);
  return `${body}.${nodeCrypto.encodeBase64url(keyring.sign(purpose, `pending:${body}`))}`;
}

/** The base64url body of a state in pending.ts's layout. */
const bodyOf = (fields: unknown) =>
  nodeCrypto.encodeBase64url(new TextEncoder().encode(JSON.stringify(fields)));

describe('the pending sign-in cookie', () => {
  test('plain HTTP: cloakroom-pending, HttpOnly, SameSite=Lax, Path=/, Max-Age=300, no Secure or Domain', () => {
    const { setCookie } = issued();
    expect(setCookie).toEqual([
      expect.stringMatching(
        /^cloakroom-pending=[\w-]+\.[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=300$/,
      ),
    ]);
    expect(setCookie[0]).not.toMatch(/Secure|Domain/i);
  });

  test('over HTTPS: __Host-cloakroom-pending, Secure, Path=/, no Domain', () => {
    const { sessions } = coreHarness();
    const { setCookie } = sessions.issuePending(incoming({ https: true }), STATE);
    expect(setCookie).toEqual([
      expect.stringMatching(
        /^__Host-cloakroom-pending=[\w-]+\.[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=300$/,
      ),
    ]);
    const value = cookieValueOf(setCookie[0]);
    expect(sessions.readPending(withPending(value, true))?.userId).toBe('alice');
    // Over HTTPS only the __Host- cookie counts: one a sibling domain could plant is ignored.
    expect(sessions.readPending(incoming({ https: true, cookie: `cloakroom-pending=${value}` }))).toBeNull();
  });

  test("it follows the session cookie's SameSite and the pendingTimeout option", () => {
    const { sessions, clock } = coreHarness({ cookie: { sameSite: 'strict' }, pendingTimeout: '90s' });
    const { setCookie, pending } = sessions.issuePending(incoming(), STATE);
    expect(setCookie[0]).toMatch(/; SameSite=Strict; Max-Age=90$/);
    expect(pending.expiresAt).toBe(clock.now() + 90_000);
  });

  test('clearPending removes it, under the name the request would send', () => {
    const { sessions } = coreHarness();
    expect(sessions.clearPending(incoming())).toEqual([
      expect.stringMatching(/^cloakroom-pending=; .*Max-Age=0/),
    ]);
    expect(sessions.clearPending(incoming({ https: true }))).toEqual([
      expect.stringMatching(/^__Host-cloakroom-pending=; Path=\/; .*Secure; Max-Age=0/),
    ]);
  });
});

describe('readPending: the state back, or null', () => {
  test('returns what was issued, with a fresh nonce each time and the expiry', () => {
    const { sessions, clock, pending, value } = issued();
    const read = sessions.readPending(withPending(value));
    expect(read).toEqual<PendingSignIn>({
      ...STATE,
      methods: ['pwd'],
      nonce: pending.nonce,
      expiresAt: clock.now() + FIVE_MINUTES,
    });
    expect(pending.nonce).toMatch(/^[\w-]{22}$/);
    const again = sessions.issuePending(incoming(), STATE).pending;
    expect(again.nonce).not.toBe(pending.nonce);
  });

  test('no cookie, or the cookie twice: null', () => {
    const { sessions, value } = issued();
    expect(sessions.readPending(incoming())).toBeNull();
    const twice = incoming({ cookie: `cloakroom-pending=${value}; cloakroom-pending=${value}` });
    expect(sessions.readPending(twice)).toBeNull();
  });

  test('a tampered value is null: any character of the state or the MAC flipped', () => {
    const { sessions, value } = issued();
    const dot = value.indexOf('.');
    for (const index of [0, 5, dot - 1, dot + 1, value.length - 2, value.length - 1]) {
      expect(sessions.readPending(withPending(flip(value, index))), `index ${index}`).toBeNull();
    }
    expect(sessions.readPending(withPending(value))).not.toBeNull();
  });

  test('the MAC spelled another way (its two spare bits set, the same 32 bytes) is null', () => {
    const { sessions, value } = issued();
    // 43 characters carry 258 bits for 256: the last one's two low bits are spare, written as 0.
    const last = BASE64URL.indexOf(value.at(-1)!);
    expect(last & 3).toBe(0);
    for (const spare of [1, 2, 3]) {
      const respelled = value.slice(0, -1) + BASE64URL[last | spare];
      expect(sessions.readPending(withPending(respelled)), respelled.slice(-3)).toBeNull();
    }
  });

  test('a forged state is null: another user, a longer expiry or more methods under the old MAC', () => {
    const { sessions, pending, value } = issued();
    const mac = value.slice(value.indexOf('.') + 1);
    const fields = [
      STATE.userId,
      STATE.epoch,
      STATE.remember,
      STATE.methods,
      pending.nonce,
      pending.expiresAt,
    ];
    for (const change of [
      { 0: 'mallory' },
      { 1: 0 },
      { 3: ['pwd', 'otp'] },
      { 5: pending.expiresAt + 3_600_000 },
    ]) {
      const forged = Object.assign([...fields], change);
      expect(
        sessions.readPending(withPending(`${bodyOf(forged)}.${mac}`)),
        JSON.stringify(change),
      ).toBeNull();
    }
    // The control: the same fields, unchanged, verify.
    expect(sessions.readPending(withPending(`${bodyOf(fields)}.${mac}`))).not.toBeNull();
  });

  test('expired: valid until the last millisecond of pendingTimeout, null from then on', () => {
    const { sessions, clock, value } = issued();
    clock.advance(FIVE_MINUTES - 1);
    expect(sessions.readPending(withPending(value))?.userId).toBe('alice');
    clock.advance(1);
    expect(sessions.readPending(withPending(value))).toBeNull();
  });

  test('signed with a secret outside the keyring: null', () => {
    const { value, store, clock } = issued();
    const other = createSessions({ secrets: [SECRET_B], store, clock });
    expect(other.readPending(withPending(value))).toBeNull();
  });

  test('malformed values never throw, even under a valid MAC', () => {
    const { sessions, pending } = issued();
    const shapes = [
      ['alice', 4, true, ['pwd'], pending.nonce],
      ['alice', 4, true, ['pwd'], pending.nonce, pending.expiresAt, 'more'],
      ['alice', '4', true, ['pwd'], pending.nonce, pending.expiresAt],
      ['alice', 4, 'yes', ['pwd'], pending.nonce, pending.expiresAt],
      ['alice', 4, true, [1], pending.nonce, pending.expiresAt],
      [7, 4, true, ['pwd'], pending.nonce, pending.expiresAt],
      { userId: 'alice' },
      null,
    ];
    const signedJunk = [
      ...shapes.map((shape) => signAs('pending-sign-in', bodyOf(shape))),
      signAs('pending-sign-in', nodeCrypto.encodeBase64url(new TextEncoder().encode('not json'))),
    ];
    const junk = [
      '',
      '.',
      'a.b',
      `.${'A'.repeat(43)}`,
      `${'A'.repeat(2000)}.${'A'.repeat(43)}`,
      'é.é',
      '%00',
    ];
    for (const value of [...signedJunk, ...junk]) {
      expect(() => sessions.readPending(withPending(value)), value).not.toThrow();
      expect(sessions.readPending(withPending(value)), value).toBeNull();
    }
    // The control: the same signing, of the right shape, is accepted.
    const fields = [
      STATE.userId,
      STATE.epoch,
      STATE.remember,
      STATE.methods,
      pending.nonce,
      pending.expiresAt,
    ];
    expect(sessions.readPending(withPending(signAs('pending-sign-in', bodyOf(fields))))?.userId).toBe(
      'alice',
    );
  });

  test('a state body of up to 1024 characters is read; a longer one is refused, even under a valid MAC', () => {
    const { sessions, pending } = issued();
    const fieldsWith = (userId: string) => [userId, 4, true, ['pwd'], pending.nonce, pending.expiresAt];
    // 768 bytes of JSON are 1024 base64url characters; 771 bytes are 1028.
    const pad = 768 - JSON.stringify(fieldsWith('')).length;
    const longest = signAs('pending-sign-in', bodyOf(fieldsWith('a'.repeat(pad))));
    expect(longest.indexOf('.')).toBe(1024);
    expect(sessions.readPending(withPending(longest))?.userId).toBe('a'.repeat(pad));
    const over = signAs('pending-sign-in', bodyOf(fieldsWith('a'.repeat(pad + 3))));
    expect(over.indexOf('.')).toBe(1028);
    expect(sessions.readPending(withPending(over))).toBeNull();
  });

  test('a body with a character outside base64url is refused, even under a valid MAC over it', () => {
    const { sessions, pending } = issued();
    const body = bodyOf([
      STATE.userId,
      STATE.epoch,
      STATE.remember,
      STATE.methods,
      pending.nonce,
      pending.expiresAt,
    ]);
    // Decoders skip a stray character: the state would read the same without this check.
    for (const stray of ['!', '~', '*', '%']) {
      const value = signAs('pending-sign-in', `${body.slice(0, 4)}${stray}${body.slice(4)}`);
      expect(sessions.readPending(withPending(value)), stray).toBeNull();
    }
    expect(sessions.readPending(withPending(signAs('pending-sign-in', body)))?.userId).toBe('alice');
  });

  test('a method or a nonce that is not text is refused, even under a valid MAC', () => {
    const { sessions, pending } = issued();
    for (const shape of [
      ['alice', 4, true, ['pwd', 1], pending.nonce, pending.expiresAt],
      ['alice', 4, true, ['pwd'], 42, pending.expiresAt],
    ]) {
      expect(
        sessions.readPending(withPending(signAs('pending-sign-in', bodyOf(shape)))),
        JSON.stringify(shape),
      ).toBeNull();
    }
  });

  test('survives a secret rotation while the old secret is in the ring, not after it leaves', () => {
    const { value, store, clock } = issued(coreHarness({ secrets: [SECRET_A] }));
    const rotated = createSessions({ secrets: [SECRET_B, SECRET_A], store, clock });
    expect(rotated.readPending(withPending(value))?.userId).toBe('alice');
    const retired = createSessions({ secrets: [SECRET_C, SECRET_B], store, clock });
    expect(retired.readPending(withPending(value))).toBeNull();
  });
});

describe('a pending state is never a session, and no other cookie is a pending state', () => {
  test('a MAC under the session or login-CSRF key over the same state is refused (separate key purposes)', () => {
    const { sessions, pending } = issued();
    const fields = [
      STATE.userId,
      STATE.epoch,
      STATE.remember,
      STATE.methods,
      pending.nonce,
      pending.expiresAt,
    ];
    for (const purpose of ['session', 'login-csrf'] as const) {
      expect(sessions.readPending(withPending(signAs(purpose, bodyOf(fields)))), purpose).toBeNull();
    }
  });

  test('a session cookie value or a login cookie value in the pending cookie: null', async () => {
    const { sessions } = coreHarness();
    const signedIn = await sessions.create(incoming(), { userId: 'alice' });
    const login = sessions.issueLoginToken(incoming());
    for (const setCookie of [signedIn.setCookie[0], login.setCookie[0]]) {
      expect(sessions.readPending(withPending(cookieValueOf(setCookie)))).toBeNull();
    }
  });

  test('a pending cookie value as the session cookie: no session, refused before the store', async () => {
    const { sessions, calls, value } = issued();
    const result = await sessions.validate(incoming({ cookie: `cloakroom=${value}` }));
    expect(result.session).toBeNull();
    expect(result.reason).toMatch(/^(malformed|bad-signature)$/);
    expect(calls.get).toBeUndefined();
  });

  test('a pending cookie value as the login cookie: no login token passes with it', () => {
    const { sessions, value } = issued();
    const page = sessions.issueLoginToken(incoming());
    const request = incoming({ method: 'POST', cookie: `cloakroom-login=${value}` });
    expect(sessions.checkLoginToken(request, page.token)).toBe(false);
    expect(sessions.checkLoginToken(request, value.slice(value.indexOf('.') + 1))).toBe(false);
  });

  test('a valid pending cookie never makes validate() return a session, whatever comes with it', async () => {
    const { sessions, calls, setCookie } = issued();
    const pendingPair = cookiePair(setCookie[0]);
    const alone = await sessions.validate(incoming({ cookie: pendingPair }));
    expect(alone).toMatchObject({ session: null, reason: 'missing', setCookie: [] });
    expect(calls.get).toBeUndefined();
    // Beside a real session it changes nothing: the session is the session cookie's.
    const bob = await sessions.create(incoming(), { userId: 'bob' });
    const both = await sessions.validate(
      incoming({ cookie: `${pendingPair}; ${cookiePair(bob.setCookie[0])}` }),
    );
    expect(both.session?.userId).toBe('bob');
    // Over HTTPS, too.
    const secure = sessions.issuePending(incoming({ https: true }), STATE);
    const overHttps = await sessions.validate(
      incoming({ https: true, cookie: cookiePair(secure.setCookie[0]) }),
    );
    expect(overHttps.session).toBeNull();
  });

  test('issuing a pending state touches no session: the store is not called and the session lives on', async () => {
    const h = coreHarness();
    const signedIn = await h.sessions.create(incoming(), { userId: 'alice' });
    const cookie = cookiePair(signedIn.setCookie[0]);
    const before = { ...h.calls };
    const { setCookie } = h.sessions.issuePending(incoming({ cookie }), STATE);
    expect(h.calls).toEqual(before);
    expect(setCookie.every((c) => c.startsWith('cloakroom-pending='))).toBe(true);
    expect((await h.sessions.validate(incoming({ cookie }))).session?.userId).toBe('alice');
  });

  test('method names that are not short lower-case words are misuse: TypeError', () => {
    const { sessions } = coreHarness();
    for (const methods of [['PWD'], ['p w d'], [''], Array(9).fill('pwd')]) {
      expect(() => sessions.issuePending(incoming(), { ...STATE, methods })).toThrow(TypeError);
    }
  });

  test('up to eight method names are accepted; a name that only stringifies to one is misuse, named as such', () => {
    const { sessions } = coreHarness();
    const eight = ['pwd', 'otp', 'hwk', 'sms', 'face', 'fpt', 'pin', 'kba'];
    expect(sessions.issuePending(incoming(), { ...STATE, methods: eight }).pending.methods).toEqual(eight);
    // ['otp'] would pass the name pattern as the text 'otp'.
    const sneaky = [['otp']] as unknown as string[];
    expect(() => sessions.issuePending(incoming(), { ...STATE, methods: sneaky })).toThrow(
      /^issuePending: methods must be short lower-case names/,
    );
  });
});
