import { describe, expect, test } from 'vitest';
import { nodeCrypto } from '../../packages/cloakroom/src/core/node-crypto.js';
import { createVerifiedSignatures } from '../../packages/cloakroom/src/core/verified-signatures.js';

describe('constant-time comparisons answer false, never throw, and match only the exact value', () => {
  test('nodeCrypto.timingSafeEqual: different lengths are false, not a RangeError', () => {
    const a = new Uint8Array([1, 2, 3, 4]);
    expect(nodeCrypto.timingSafeEqual(a, new Uint8Array([1, 2, 3, 4]))).toBe(true);
    expect(nodeCrypto.timingSafeEqual(a, new Uint8Array([1, 2, 3, 5]))).toBe(false);
    expect(nodeCrypto.timingSafeEqual(a, a.subarray(0, 3))).toBe(false);
    expect(nodeCrypto.timingSafeEqual(a.subarray(0, 3), a)).toBe(false);
    expect(nodeCrypto.timingSafeEqual(new Uint8Array(0), a)).toBe(false);
  });

  test('a remembered signature matches only itself: not a longer value it is the prefix of, nor a shorter one', () => {
    const memo = createVerifiedSignatures();
    memo.remember('key', 'sig', 2);
    expect(memo.lookup('key', 'sig')).toBe(2);
    for (const other of ['sigX', 'si', '', 'siG', 'sig '])
      expect(memo.lookup('key', other), other).toBeUndefined();
    expect(memo.lookup('other-key', 'sig')).toBeUndefined();
  });
});
