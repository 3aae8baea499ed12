import { describe, expect, test } from 'vitest';
import type { Keyring } from '../../packages/cloakroom/src/core/keyring.js';
import { createLoginCsrf } from '../../packages/cloakroom/src/core/login-csrf.js';
import { resolveOptions } from '../../packages/cloakroom/src/core/options.js';
import { createMemoryStore } from '../../packages/cloakroom/src/stores/memory/index.js';
import { coreHarness, incoming, SECRET_A } from '../support/core.js';

/** Login CSRF whose keyring takes every MAC: what is refused here is refused for its shape alone. */
function shapeOnly() {
  const o = resolveOptions({ secrets: [SECRET_A], store: createMemoryStore({ sweepIntervalMs: 0 }) });
  const keyring: Keyring = { size: 1, sign: o.keyring.sign, verify: () => 0 };
  return createLoginCsrf({ ...o, keyring });
}

const NONCE = 'n0N'.repeat(14).concat('c'); // 43 base64url characters
const MAC = 'm4C'.repeat(14).concat('A'); // 43, canonical last character
const post = (value: string) => incoming({ method: 'POST', cookie: `cloakroom-login=${value}` });

describe('login nonce cookie: only nonce.mac in its one canonical spelling counts as minted', () => {
  test('the well-formed pair is taken as minted: no new cookie, and the form token checks', () => {
    const login = shapeOnly();
    expect(login.issueLoginToken(post(`${NONCE}.${MAC}`)).setCookie).toEqual([]);
    expect(login.checkLoginToken(post(`${NONCE}.${MAC}`), MAC)).toBe(true);
  });

  test('wrong lengths, a misplaced dot, a nonce or MAC outside base64url, a non-canonical MAC: replaced, never checked', () => {
    const login = shapeOnly();
    const values = [
      `${NONCE}.${MAC}A`,
      `${NONCE}.${MAC.slice(1)}`,
      `${NONCE}A${MAC}`,
      `${NONCE.slice(1)}.A${MAC}`,
      `${NONCE.slice(0, -1)}+.${MAC}`,
      `${NONCE.slice(0, -1)}..${MAC}`,
      `${NONCE}.${MAC.slice(0, -1)}=`,
      `${NONCE}.${MAC.slice(0, -1)}B`,
      `${NONCE}.${MAC.slice(0, 10)}/${MAC.slice(11)}`,
    ];
    for (const value of values) {
      expect(login.issueLoginToken(post(value)).setCookie, value).toHaveLength(1);
      expect(login.checkLoginToken(post(value), MAC), value).toBe(false);
    }
  });

  test('a form token that is not one canonical base64url MAC is refused, even by a keyring that takes anything', () => {
    const login = shapeOnly();
    const request = post(`${NONCE}.${MAC}`);
    for (const token of [`${MAC.slice(0, -1)}B`, `${MAC}A`, MAC.slice(1), `${MAC.slice(0, -1)}+`, '']) {
      expect(login.checkLoginToken(request, token), token).toBe(false);
    }
  });

  test('a missing or non-string form token is false, never an exception', () => {
    const { sessions } = coreHarness();
    const page = sessions.issueLoginToken(incoming());
    const request = incoming({ method: 'POST', cookie: page.setCookie[0]!.split(';')[0]! });
    expect(sessions.checkLoginToken(request, page.token)).toBe(true);
    for (const token of [undefined, null, 42, { token: page.token }]) {
      expect(sessions.checkLoginToken(request, token as unknown as string), String(token)).toBe(false);
    }
    const login = shapeOnly();
    for (const token of [undefined, null, 42]) {
      expect(login.checkLoginToken(post(`${NONCE}.${MAC}`), token as unknown as string), String(token)).toBe(
        false,
      );
    }
  });
});
