import { describe, expect, test } from 'vitest';
import type { SignInResult } from '../../packages/cloakroom/src/auth/sign-in.js';
import { authHarness, median, passwords } from '../support/auth.js';

const PASSWORD = 'correct horse battery staple';

/** Everything a client could learn from a failure, with the echoed username blanked out. */
const visible = (result: SignInResult) => ({ ...result, username: '<echoed>' });

describe('account enumeration: one answer for unknown user, wrong password and locked user', () => {
  test('the three failures have the same fields and values (apart from the echoed username)', async () => {
    const h = authHarness();
    await h.seed('alice', await passwords.hash(PASSWORD));
    await h.seed('mallory', await passwords.hash(PASSWORD), true);

    const unknown = await h.signInAs('nobody', PASSWORD);
    const wrong = await h.signInAs('alice', 'not the password');
    const locked = await h.signInAs('mallory', PASSWORD);

    expect(unknown).toEqual({ ok: false, error: 'invalid_credentials', username: 'nobody', lockout: [] });
    expect(Object.keys(wrong).sort()).toEqual(Object.keys(unknown).sort());
    expect(Object.keys(locked).sort()).toEqual(Object.keys(unknown).sort());
    expect(visible(wrong)).toEqual(visible(unknown));
    expect(visible(locked)).toEqual(visible(unknown));
  });

  test('the failures stay identical through to the lockout and the throttled answer', async () => {
    const h = authHarness();
    await h.seed('alice', await passwords.hash(PASSWORD));
    await h.seed('mallory', await passwords.hash(PASSWORD), true);
    const run = async (username: string, password: string) => {
      const results: SignInResult[] = [];
      for (let i = 0; i < 6; i++) results.push(await h.signInAs(username, password, `192.0.2.${i + 1}`));
      return results.map(visible);
    };
    const unknown = await run('nobody', PASSWORD);
    expect(await run('alice', 'not the password')).toEqual(unknown);
    expect(await run('mallory', PASSWORD)).toEqual(unknown);
  });
});

describe('account enumeration: an unknown user costs what a wrong password costs', () => {
  test('median time of unknown-user and wrong-password sign-ins differ by < 25%', async () => {
    // Limits far above the number of attempts, so every answer here runs the password check.
    const h = authHarness({
      throttle: { account: { failures: 10_000, window: '1h' }, ip: { failures: 10_000, window: '1h' } },
    });
    await h.seed('alice', await passwords.hash(PASSWORD));

    const timed = async (username: string): Promise<number> => {
      const start = performance.now();
      const result = await h.signInAs(username, 'not the password');
      const spent = performance.now() - start;
      expect(result).toMatchObject({ ok: false, error: 'invalid_credentials' });
      return spent;
    };
    // Warm up both paths (the dummy hash is computed on first use, JIT, thread pool).
    for (let i = 0; i < 3; i++) {
      await timed(`warmup${i}`);
      await timed('alice');
    }

    const unknown: number[] = [];
    const known: number[] = [];
    for (let i = 0; i < 30; i++) {
      // Alternate which goes first, so drift in machine load hits both alike.
      if (i % 2 === 0) {
        unknown.push(await timed(`ghost${i}`));
        known.push(await timed('alice'));
      } else {
        known.push(await timed('alice'));
        unknown.push(await timed(`ghost${i}`));
      }
    }
    const mUnknown = median(unknown);
    const mKnown = median(known);
    const detail = `median unknown ${mUnknown.toFixed(2)} ms, wrong password ${mKnown.toFixed(2)} ms`;

    // The unknown-user path really spends a password verification (no early return) ...
    expect(mUnknown, detail).toBeGreaterThan(5);
    // ... and about the same one as a real user's.
    expect(Math.abs(mUnknown - mKnown), detail).toBeLessThan(0.25 * Math.max(mUnknown, mKnown));
  });
});
