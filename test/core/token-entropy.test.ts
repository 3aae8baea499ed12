import { describe, expect, test } from 'vitest';
import { cookieValueOf, coreHarness, incoming } from '../support/core.js';

describe('token entropy', () => {
  test('10,000 sign-ins give 10,000 distinct 256-bit tokens with no visible bias', async () => {
    const { sessions } = coreHarness({
      store: (await import('../../src/stores/memory/index.js')).createMemoryStore({
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
