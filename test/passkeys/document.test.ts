import { describe, expect, test } from 'vitest';
import {
  hasSecondFactor,
  parseDocument,
  serializeDocument,
} from '../../packages/cloakroom/src/auth/second-factor/document.js';

/*
 * Passkeys live in the second-factor document. Documents written before passkeys (no list) still
 * read, as "no passkeys"; a list of the wrong shape fails closed, like any unreadable document.
 */

const passkey = {
  id: 'Y3JlZA',
  publicKey: 'a2V5',
  counter: 0,
  transports: ['internal'],
  deviceType: 'multiDevice',
  backedUp: true,
  name: 'Phone',
  createdAt: 1,
  lastUsedAt: null,
};
const before = { v: 1, totp: null, enrolment: null, recoveryCodes: [], recoveryLink: null };

describe('passkeys in the second-factor document', () => {
  test('an older document without passkeys reads as none, and has no second factor', () => {
    expect(parseDocument(JSON.stringify(before)).passkeys).toEqual([]);
    expect(hasSecondFactor(JSON.stringify(before))).toBe(false);
    expect(hasSecondFactor(null)).toBe(false);
    const totp = { ...before, totp: { secret: 's', enrolledAt: 1, lastStep: 0 } };
    expect(hasSecondFactor(JSON.stringify(totp))).toBe(true);
  });

  test('one passkey is a second factor; the text round-trips', () => {
    const text = JSON.stringify({ ...before, passkeys: [passkey] });
    expect(hasSecondFactor(text)).toBe(true);
    expect(serializeDocument(parseDocument(text))).toBe(text);
    expect(serializeDocument(parseDocument(JSON.stringify({ ...before, passkeys: [] })))).toBeNull();
  });

  test('a passkey list of the wrong shape fails closed (throws), never "no second factor"', () => {
    const broken: unknown[] = [
      'nope',
      [{ ...passkey, counter: '1' }],
      [{ ...passkey, deviceType: 'both' }],
      [{ ...passkey, transports: [1] }],
      [{ ...passkey, lastUsedAt: undefined }],
      [{ ...passkey, id: undefined }],
      [null],
    ];
    for (const passkeys of broken) {
      expect(() => hasSecondFactor(JSON.stringify({ ...before, passkeys }))).toThrow(/unreadable/);
    }
  });

  test('the answer is remembered by the text: each text keeps its own, a bad one throws every time', () => {
    const one = JSON.stringify({ ...before, passkeys: [passkey] });
    const none = JSON.stringify({ ...before, passkeys: [] });
    const bad = JSON.stringify({ ...before, passkeys: [null] });
    for (let round = 0; round < 3; round++) {
      expect(hasSecondFactor(one)).toBe(true);
      expect(hasSecondFactor(none)).toBe(false);
      expect(() => hasSecondFactor(bad)).toThrow(/unreadable/);
    }
    // More texts than it remembers: the answers stay right after it is cleared.
    for (let i = 0; i < 600; i++) {
      const named = JSON.stringify({
        ...before,
        passkeys: i % 2 === 0 ? [] : [{ ...passkey, name: `Key ${i}` }],
      });
      expect(hasSecondFactor(named)).toBe(i % 2 === 1);
    }
    expect(hasSecondFactor(one)).toBe(true);
  });
});
