import { createHash, createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createKeyring } from '../../packages/cloakroom/src/core/keyring.js';
import { nodeCrypto } from '../../packages/cloakroom/src/core/node-crypto.js';
import { parseCookieValue, signToken } from '../../packages/cloakroom/src/core/token.js';
import { cookieValueOf, coreHarness, incoming, SECRET_A, SECRET_B } from '../support/core.js';

/*
 * Known answers, computed here with node:crypto alone: the purpose labels are part of the cookie
 * format. A changed label would sign out every user at the next deploy, and two purposes that
 * shared a label would share a key, so a session MAC would pass as a login-CSRF MAC.
 */
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const sessionKey = (secret: string) => hmac(secret, 'cloakroom/v1/session-cookie');
const loginKey = (secret: string) => hmac(secret, 'cloakroom/v1/login-csrf');

describe('key derivation: one key per purpose, from fixed labels', () => {
  test('a session cookie is token.HMAC-SHA256(HMAC-SHA256(secret, "cloakroom/v1/session-cookie"), token)', async () => {
    const { sessions, store } = coreHarness();
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const [token, signature] = cookieValueOf(issued.setCookie[0]).split('.') as [string, string];
    expect(signature).toBe(hmac(sessionKey(SECRET_A), token).toString('base64url'));
    // And the store key is SHA-256 of the token, base64url.
    const id = createHash('sha256').update(token).digest('base64url');
    expect(await store.get(id)).toMatchObject({ userId: 'alice' });
  });

  test('the login nonce cookie and the form token are MACs under the login key, with distinct labels', () => {
    const { sessions } = coreHarness();
    const page = sessions.issueLoginToken(incoming());
    const [nonce, mac] = cookieValueOf(page.setCookie[0]).split('.') as [string, string];
    expect(mac).toBe(hmac(loginKey(SECRET_A), `login-nonce:${nonce}`).toString('base64url'));
    expect(page.token).toBe(hmac(loginKey(SECRET_A), `login-token:${nonce}`).toString('base64url'));
  });

  test('the newest secret signs; verify names the index of the secret that signed, -1 for none', () => {
    const keyring = createKeyring([SECRET_B, SECRET_A], nodeCrypto);
    const token = 'A'.repeat(43);
    const underA = new Uint8Array(hmac(sessionKey(SECRET_A), token));
    const underB = new Uint8Array(hmac(sessionKey(SECRET_B), token));
    expect(Buffer.from(keyring.sign('session', token)).equals(underB)).toBe(true);
    expect(keyring.verify('session', token, underB)).toBe(0);
    expect(keyring.verify('session', token, underA)).toBe(1);
    expect(keyring.verify('session', token, new Uint8Array(32))).toBe(-1);
    expect(keyring.verify('session', token, underA.subarray(0, 31))).toBe(-1);
    // The same bytes are no MAC for the other purpose.
    expect(keyring.verify('login-csrf', token, underB)).toBe(-1);
    expect(parseCookieValue(signToken(token, keyring, nodeCrypto), keyring, nodeCrypto)).toMatchObject({
      token,
      keyIndex: 0,
    });
  });
});
