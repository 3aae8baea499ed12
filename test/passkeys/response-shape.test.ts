import { describe, expect, test } from 'vitest';
import {
  readAuthentication,
  readRegistration,
  userIdOf,
} from '../../packages/cloakroom/src/passkeys/response.js';

/*
 * The reading of a browser's `credential.toJSON()`, field by field, at its exact bounds: what is
 * kept, what is dropped, what makes the whole response unreadable (null, never a throw).
 */

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const clientData = (fields: Record<string, unknown>) => b64(JSON.stringify(fields));
const CHALLENGE = 'Y2hhbGxlbmdlLWNoYWxsZW5nZS1jaGFsbGVuZ2UtMzI';
const ID = 'Y3JlZGVudGlhbA';

const registration = (response: Record<string, unknown> = {}) => ({
  id: ID,
  rawId: ID,
  type: 'public-key',
  response: {
    clientDataJSON: clientData({ type: 'webauthn.create', challenge: CHALLENGE }),
    attestationObject: 'o2NmbXRkbm9uZQ',
    ...response,
  },
});

const assertion = (response: Record<string, unknown> = {}) => ({
  id: ID,
  rawId: ID,
  type: 'public-key',
  response: {
    clientDataJSON: clientData({ type: 'webauthn.get', challenge: CHALLENGE }),
    authenticatorData: 'SZYN5YgOjGh0NBcPZHZgW4',
    signature: 'MEUCIQ',
    ...response,
  },
});

/** clientDataJSON of exactly `length` base64url characters (a multiple of 4), naming CHALLENGE. */
function clientDataOfLength(length: number): string {
  const bytes = (length / 4) * 3;
  const head = JSON.stringify({ type: 'webauthn.get', challenge: CHALLENGE, pad: '' });
  const text = `${head.slice(0, -2)}${'x'.repeat(bytes - head.length)}"}`;
  const encoded = b64(text);
  if (encoded.length !== length) throw new Error(`built ${encoded.length}, wanted ${length}`);
  return encoded;
}

describe('reading a registration response', () => {
  test('anything but an object with a response is null, not a throw', () => {
    for (const input of [undefined, null, 'x', 7, [], {}, { ...registration(), response: null }]) {
      expect(readRegistration(input)).toBeNull();
    }
  });

  test('the transports WebAuthn names are kept, once each; other names and non-strings are dropped', () => {
    const all = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'];
    const read = readRegistration(registration({ transports: [...all, 'usb', 'carrier-pigeon', 3, null] }));
    expect(read?.transports).toEqual(all);
    expect(read?.response.response.transports).toEqual(all);
    expect(readRegistration(registration())?.transports).toEqual([]);
  });

  test('at most 16 transports; a list that is not an array is unreadable', () => {
    expect(readRegistration(registration({ transports: Array(16).fill('usb') }))?.transports).toEqual([
      'usb',
    ]);
    expect(readRegistration(registration({ transports: Array(17).fill('usb') }))).toBeNull();
    expect(readRegistration(registration({ transports: 'usb' }))).toBeNull();
  });

  test('clientDataJSON that is not JSON, or names no challenge, is unreadable', () => {
    expect(readRegistration(registration({ clientDataJSON: b64('{not json') }))).toBeNull();
    expect(
      readRegistration(registration({ clientDataJSON: clientData({ type: 'webauthn.create' }) })),
    ).toBeNull();
    expect(readRegistration(registration())?.challenge).toBe(CHALLENGE);
  });
});

describe('reading an authentication response', () => {
  test('clientDataJSON of 4096 characters reads; 4097, empty or not a string does not', () => {
    expect(readAuthentication(assertion({ clientDataJSON: clientDataOfLength(4096) }))?.challenge).toBe(
      CHALLENGE,
    );
    expect(readAuthentication(assertion({ clientDataJSON: `${clientDataOfLength(4096)}A` }))).toBeNull();
    expect(readAuthentication(assertion({ clientDataJSON: '' }))).toBeNull();
    expect(readAuthentication(assertion({ clientDataJSON: 12 }))).toBeNull();
    expect(readAuthentication(assertion({ clientDataJSON: b64('[]') }))).toBeNull();
  });

  test('an absent, null or empty user handle is none, and is not passed on', () => {
    for (const userHandle of [undefined, null, '']) {
      const read = readAuthentication(assertion({ userHandle }));
      expect(read?.userHandle).toBeNull();
      expect(read && 'userHandle' in read.response.response).toBe(false);
    }
    const named = readAuthentication(assertion({ userHandle: b64('alice') }));
    expect(named?.userHandle).toBe(b64('alice'));
    expect(named?.response.response.userHandle).toBe(b64('alice'));
  });

  test('a user handle of 86 characters reads; 87, or one that is not base64url, does not', () => {
    expect(readAuthentication(assertion({ userHandle: 'A'.repeat(86) }))?.userHandle).toBe('A'.repeat(86));
    expect(readAuthentication(assertion({ userHandle: 'A'.repeat(87) }))).toBeNull();
    expect(readAuthentication(assertion({ userHandle: 'al ice' }))).toBeNull();
    expect(readAuthentication(assertion({ userHandle: 5 }))).toBeNull();
  });
});

describe('the user id a user handle carries', () => {
  test('only the one spelling this server writes: UTF-8 text, canonical base64url, not empty', () => {
    expect(userIdOf(b64('0fb29423-user'))).toBe('0fb29423-user');
    expect(userIdOf(b64('Łódź'))).toBe('Łódź');
    // The same bytes spelled with other trailing bits, bytes that are not UTF-8, nothing at all.
    expect(userIdOf('YWxpY2V')).toBeNull();
    expect(b64('alice')).toBe('YWxpY2U');
    expect(userIdOf('_w')).toBeNull();
    expect(userIdOf('')).toBeNull();
  });
});
