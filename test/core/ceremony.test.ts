import { describe, expect, test } from 'vitest';
import { createKeyring, type KeyPurpose } from '../../packages/cloakroom/src/core/keyring.js';
import { nodeCrypto } from '../../packages/cloakroom/src/core/node-crypto.js';
import { createSessions } from '../../packages/cloakroom/src/core/sessions.js';
import { cookieValueOf, coreHarness, incoming, SECRET_A, SECRET_B, SECRET_C } from '../support/core.js';

// The passkey ceremony cookie (core/ceremony.ts): what a passwordless sign-in binds its challenge
// to. Its own HttpOnly cookie, signed under a key of its own purpose, with its deadline inside
// the MAC: no cookie of another purpose passes for it, and nothing in it can be changed.

const FIVE_MINUTES = 5 * 60_000;

/** A request carrying `value` as the ceremony cookie (the plain-HTTP name unless `https`). */
const withCeremony = (value: string, https = false) =>
  incoming({ https, cookie: `${https ? '__Host-' : ''}cloakroom-passkey=${value}` });

/** `id.deadline.mac` with a MAC under `purpose`'s key of `secret`, as ceremony.ts signs it. */
function signAs(purpose: KeyPurpose, id: string, deadline: number, secret = SECRET_A): string {
  const keyring = createKeyring([secret], nodeCrypto);
  const mac = nodeCrypto.encodeBase64url(keyring.sign(purpose, `passkey-ceremony:${id}.${deadline}`));
  return `${id}.${deadline}.${mac}`;
}

describe('the passkey ceremony cookie', () => {
  test('plain HTTP: cloakroom-passkey, HttpOnly, SameSite as configured, Max-Age the ceremony ttl', () => {
    const { sessions } = coreHarness({ cookie: { sameSite: 'strict' } });
    const { id, setCookie } = sessions.issueCeremony(incoming(), 120_000);
    expect(id).toMatch(/^[\w-]{43}$/);
    expect(setCookie).toEqual([
      expect.stringMatching(
        /^cloakroom-passkey=[\w-]{43}\.\d+\.[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=120$/,
      ),
    ]);
    expect(setCookie[0]).not.toMatch(/Secure|Domain/i);
  });

  test('over HTTPS: __Host-cloakroom-passkey, Secure; a custom cookie name carries the suffix', () => {
    const { sessions } = coreHarness({ cookie: { name: 'acme' } });
    const { setCookie } = sessions.issueCeremony(incoming({ https: true }));
    expect(setCookie[0]).toMatch(
      /^__Host-acme-passkey=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=300$/,
    );
  });

  test('read back: the same id, until its deadline; cleared by an expired empty cookie', () => {
    const h = coreHarness();
    const { id, setCookie } = h.sessions.issueCeremony(incoming());
    const value = cookieValueOf(setCookie[0]);
    expect(h.sessions.readCeremony(withCeremony(value))).toBe(id);
    h.clock.advance(FIVE_MINUTES - 1);
    expect(h.sessions.readCeremony(withCeremony(value))).toBe(id);
    h.clock.advance(1);
    expect(h.sessions.readCeremony(withCeremony(value))).toBeNull();
    expect(h.sessions.clearCeremony(incoming())).toEqual([
      'cloakroom-passkey=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    ]);
  });

  test('forged or tampered: another id, a later deadline, a flipped MAC, another purpose or secret — refused', () => {
    const h = coreHarness();
    const { id, setCookie } = h.sessions.issueCeremony(incoming());
    const value = cookieValueOf(setCookie[0]);
    const [, deadline, mac] = value.split('.') as [string, string, string];
    const otherId = `${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}`;
    const later = Number(deadline) + 3_600_000;
    const flipped = `${mac.slice(0, 10)}${mac[10] === 'a' ? 'b' : 'a'}${mac.slice(11)}`;
    const forged = [
      `${otherId}.${deadline}.${mac}`,
      `${id}.${later}.${mac}`,
      `${id}.${deadline}.${flipped}`,
      signAs('pending-sign-in', id, Number(deadline)),
      signAs('login-csrf', id, Number(deadline)),
      signAs('session', id, Number(deadline)),
      signAs('passkey-ceremony', id, Number(deadline), SECRET_B),
      `${id}.0${deadline}.${mac}`,
      `${id}.${deadline}.${mac}.x`,
      `${id}.${deadline}`,
      '',
      'x'.repeat(4000),
    ];
    for (const bad of forged) expect(h.sessions.readCeremony(withCeremony(bad))).toBeNull();
    // Signed under the right purpose and secret, it is accepted: the refusals above are the changes.
    expect(h.sessions.readCeremony(withCeremony(signAs('passkey-ceremony', id, Number(deadline))))).toBe(id);
  });

  test('a cookie of the HTTPS name is not read over plain HTTP, nor the other way round', () => {
    const h = coreHarness();
    const value = cookieValueOf(h.sessions.issueCeremony(incoming()).setCookie[0]);
    expect(h.sessions.readCeremony(incoming({ cookie: `__Host-cloakroom-passkey=${value}` }))).toBeNull();
    expect(
      h.sessions.readCeremony(incoming({ https: true, cookie: `cloakroom-passkey=${value}` })),
    ).toBeNull();
  });

  test('an older secret still in the keyring verifies; a removed one does not', () => {
    const h = coreHarness({ secrets: [SECRET_B] });
    const { id, setCookie } = h.sessions.issueCeremony(incoming());
    const value = cookieValueOf(setCookie[0]);
    const rotated = createSessions({ secrets: [SECRET_C, SECRET_B], store: h.store, clock: h.clock });
    expect(rotated.readCeremony(withCeremony(value))).toBe(id);
    const retired = createSessions({ secrets: [SECRET_C], store: h.store, clock: h.clock });
    expect(retired.readCeremony(withCeremony(value))).toBeNull();
  });

  test('a ttl outside 1 s to 10 min is a misuse (TypeError); both ends are allowed', () => {
    const { sessions } = coreHarness();
    for (const ttl of [0, 999, 600_001, 1.5, Number.NaN]) {
      expect(() => sessions.issueCeremony(incoming(), ttl)).toThrow(TypeError);
    }
    expect(sessions.issueCeremony(incoming(), 1000).setCookie[0]).toMatch(/; Max-Age=1$/);
    expect(sessions.issueCeremony(incoming(), 600_000).setCookie[0]).toMatch(/; Max-Age=600$/);
  });

  test('no cookie of another purpose passes for it, and it passes for none', () => {
    const h = coreHarness();
    const value = cookieValueOf(h.sessions.issueCeremony(incoming()).setCookie[0]);
    const pending = cookieValueOf(
      h.sessions.issuePending(incoming(), { userId: 'a', epoch: 0, remember: false, methods: ['pwd'] })
        .setCookie[0],
    );
    expect(h.sessions.readCeremony(withCeremony(pending))).toBeNull();
    expect(h.sessions.readPending(incoming({ cookie: `cloakroom-pending=${value}` }))).toBeNull();
  });
});
