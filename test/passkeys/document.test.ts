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
});
