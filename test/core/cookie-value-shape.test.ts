import { describe, expect, test } from 'vitest';
import { isBase64url } from '../../packages/cloakroom/src/core/crypto.js';
import type { Keyring } from '../../packages/cloakroom/src/core/keyring.js';
import { nodeCrypto } from '../../packages/cloakroom/src/core/node-crypto.js';
import { isPublicId, parseCookieValue, publicIdOf } from '../../packages/cloakroom/src/core/token.js';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A keyring that takes every signature, so only the shape of a value decides; it counts HMAC checks. */
function acceptingKeyring(): Keyring & { checks: number } {
  return {
    size: 1,
    checks: 0,
    sign: () => new Uint8Array(32),
    verify(this: { checks: number }) {
      this.checks++;
      return 0;
    },
  };
}

const TOKEN = 'Tq3'.repeat(14).concat('x'); // 43 base64url characters
const SIGNATURE = 'k9_'.repeat(14).concat('A'); // 43, canonical last character

describe('cookie value shape: exactly token.signature, one spelling, checked before any HMAC', () => {
  test('the well-formed value parses', () => {
    const keyring = acceptingKeyring();
    expect(parseCookieValue(`${TOKEN}.${SIGNATURE}`, keyring, nodeCrypto)).toMatchObject({
      token: TOKEN,
      keyIndex: 0,
    });
    expect(keyring.checks).toBe(1);
  });

  test('only the 16 characters with zero spare bits may end a signature (A E I M Q U Y c g k o s w 0 4 8)', () => {
    const accepted: string[] = [];
    for (const last of BASE64URL) {
      const value = `${TOKEN}.${SIGNATURE.slice(0, -1)}${last}`;
      const parsed = parseCookieValue(value, acceptingKeyring(), nodeCrypto);
      if ('token' in parsed) accepted.push(last);
      else expect(parsed, last).toEqual({ error: 'malformed' });
    }
    expect(accepted.join('')).toBe('AEIMQUYcgkosw048');
  });

  test('wrong lengths, a misplaced dot and characters outside base64url are malformed, with no HMAC computed', () => {
    const keyring = acceptingKeyring();
    const values = [
      `${TOKEN}.${SIGNATURE}A`,
      `${TOKEN}.${SIGNATURE.slice(0, -1)}`,
      `${TOKEN}A${SIGNATURE}`,
      `${TOKEN.slice(1)}.A${SIGNATURE}`,
      `A${TOKEN}${SIGNATURE}`,
      `${TOKEN.slice(0, -1)}+.${SIGNATURE}`,
      `${TOKEN.slice(0, -1)}/.${SIGNATURE}`,
      `${TOKEN}.${SIGNATURE.slice(0, -2)}=A`,
      `${TOKEN}.${SIGNATURE.slice(0, -2)}.A`,
      `${TOKEN.slice(0, -1)} .${SIGNATURE}`,
      `${TOKEN.slice(0, -1)}é.${SIGNATURE}`,
      `${'@'}${TOKEN.slice(1)}.${SIGNATURE}`,
      `${TOKEN.slice(0, 20)}[${TOKEN.slice(21)}.${SIGNATURE}`,
      `${TOKEN}.${SIGNATURE.slice(0, 20)}\`${SIGNATURE.slice(21)}`,
      `${TOKEN}.${SIGNATURE.slice(0, 20)}{${SIGNATURE.slice(21)}`,
      `${TOKEN}.${SIGNATURE.slice(0, 20)}:${SIGNATURE.slice(21)}`,
      `${TOKEN}.${SIGNATURE.slice(0, 20)}/${SIGNATURE.slice(21)}`,
      '',
    ];
    for (const value of values) {
      expect(parseCookieValue(value, keyring, nodeCrypto), value).toEqual({ error: 'malformed' });
    }
    expect(keyring.checks).toBe(0);
  });

  test('a signature no key made is bad-signature, not malformed', () => {
    const keyring: Keyring = { size: 1, sign: () => new Uint8Array(32), verify: () => -1 };
    expect(parseCookieValue(`${TOKEN}.${SIGNATURE}`, keyring, nodeCrypto)).toEqual({
      error: 'bad-signature',
    });
  });

  test('the base64url alphabet check takes exactly A-Z a-z 0-9 - _ and the asked length', () => {
    for (const c of BASE64URL) expect(isBase64url(c, 1), c).toBe(true);
    for (let code = 0; code < 256; code++) {
      const c = String.fromCharCode(code);
      if (!BASE64URL.includes(c)) expect(isBase64url(c, 1), `code ${code}`).toBe(false);
    }
    expect(isBase64url('AB', 1)).toBe(false);
    expect(isBase64url('', 0)).toBe(true);
  });
});

describe('public session ids', () => {
  test('a public id is the first 22 characters of the store key, and only that shape is one', () => {
    const storeKey = nodeCrypto.sha256Base64url('token');
    expect(publicIdOf(storeKey)).toBe(storeKey.slice(0, 22));
    expect(isPublicId(publicIdOf(storeKey))).toBe(true);
    for (const bad of [storeKey, storeKey.slice(0, 21), `${storeKey.slice(0, 21)}.`, 22, null]) {
      expect(isPublicId(bad), String(bad)).toBe(false);
    }
  });
});
