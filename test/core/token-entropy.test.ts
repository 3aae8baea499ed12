import { describe, expect, test } from 'vitest';
import { cookieValueOf, coreHarness, incoming } from '../support/core.js';

describe('token entropy', () => {
  test('10,000 sign-ins give 10,000 distinct 256-bit tokens with no visible bias', async () => {
    const { sessions } = coreHarness({
      store: (await import('../../packages/cloakroom/src/stores/memory/index.js')).createMemoryStore({
        maxSessions: 20_000,
        sweepIntervalMs: 0,
      }),
    });
    const tokens = new Set<string>();
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const { setCookie } = await sessions.create(incoming(), { userId: `u${i % 50}` });
      const token = cookieValueOf(setCookie[0]).split('.')[0]!;
      tokens.add(token);
      const bytes = Buffer.from(token, 'base64url');
      expect(bytes.length).toBe(32);
      for (const b of bytes) counts[b]!++;
    }
    expect(tokens.size).toBe(10_000);
    // 320,000 bytes over 256 values: chi-square with 255 degrees of freedom stays far below 400
    // for a uniform source (p < 1e-7 of exceeding it by chance).
    const expected = 320_000 / 256;
    const chi = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chi).toBeLessThan(400);
  });
});

describe('pooled random bytes (nodeCrypto.randomBytes)', () => {
  test('bytes already handed out never change when the pool refills, and no two reads overlap', async () => {
    const { nodeCrypto } = await import('../../packages/cloakroom/src/core/node-crypto.js');
    const first = nodeCrypto.randomBytes(32);
    const copy = Uint8Array.from(first);
    // 4 KiB pool, 32-byte reads: 1,000 reads cross many refills.
    const seen = new Set<string>([Buffer.from(first).toString('hex')]);
    for (let i = 0; i < 1_000; i++) {
      const bytes = nodeCrypto.randomBytes(32);
      expect(bytes.length).toBe(32);
      seen.add(Buffer.from(bytes).toString('hex'));
    }
    expect(first).toEqual(copy);
    expect(seen.size).toBe(1_001);
  });

  test('odd and large sizes come out at the asked length, uniformly distributed', async () => {
    const { nodeCrypto } = await import('../../packages/cloakroom/src/core/node-crypto.js');
    for (const length of [0, 1, 7, 255, 256, 257, 4096, 10_000]) {
      expect(nodeCrypto.randomBytes(length).length).toBe(length);
    }
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 10_000; i++) for (const b of nodeCrypto.randomBytes(33)) counts[b]!++;
    const expected = 330_000 / 256;
    const chi = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chi).toBeLessThan(400);
  });
});
