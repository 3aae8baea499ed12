import { describe, expect, test } from 'vitest';
import {
  limitPasswordHasher,
  type PasswordRefusal,
  PasswordsBusyError,
} from '../../packages/cloakroom/src/auth/password-limit.js';
import { createPasswordHasher } from '../../packages/cloakroom/src/auth/passwords.js';
import type { PasswordHasher } from '../../packages/cloakroom/src/auth/types.js';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';
import { authHarness } from '../support/auth.js';

const PASSWORD = 'correct horse battery staple';
const argon2 = createPasswordHasher({ limit: false });

/** argon2id whose checks wait for `release()` before they start, and record their order. */
function held() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const started: string[] = [];
  const hasher: PasswordHasher = {
    async hash(password) {
      started.push(`hash:${password}`);
      await gate;
      return argon2.hash(password);
    },
    async verify(stored, password) {
      started.push(`verify:${password}`);
      await gate;
      return argon2.verify(stored, password);
    },
    async verifyDummy(password) {
      started.push(`dummy:${password}`);
      await gate;
      return argon2.verifyDummy(password);
    },
  };
  return { hasher, started, release: () => open() };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('limitPasswordHasher', () => {
  test('concurrency run, queue wait in order, the rest are refused at once; hash, verify and verifyDummy share the places', async () => {
    const inner = held();
    const refusals: PasswordRefusal[] = [];
    const limited = limitPasswordHasher(inner.hasher, {
      concurrency: 2,
      queue: 2,
      onRefused: (r) => refusals.push(r),
    });
    const stored = await argon2.hash(PASSWORD);
    const calls = [
      limited.verify(stored, 'a'),
      limited.verifyDummy('b'),
      limited.hash('c'),
      limited.verify(stored, PASSWORD),
      limited.verifyDummy('e'),
      limited.hash('f'),
    ];
    const outcomes = calls.map((p) =>
      p.then(
        () => 'done',
        (e: unknown) => e,
      ),
    );
    await settle();
    expect(inner.started).toEqual(['verify:a', 'dummy:b']);
    expect(limited.state()).toEqual({ running: 2, waiting: 2, concurrency: 2, queue: 2 });
    expect(limited.refusal()).toBeInstanceOf(PasswordsBusyError);
    for (const refused of [await outcomes[4], await outcomes[5]]) {
      expect(refused).toBeInstanceOf(PasswordsBusyError);
      expect(refused).toMatchObject({ reason: 'queue_full' });
      expect((refused as PasswordsBusyError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
    // The two refusals above and the one `refusal()` reported.
    expect(refusals.map((r) => r.reason)).toEqual(['queue_full', 'queue_full', 'queue_full']);
    inner.release();
    expect(await Promise.all(outcomes.slice(0, 4))).toEqual(['done', 'done', 'done', 'done']);
    // First come, first served.
    expect(inner.started).toEqual(['verify:a', 'dummy:b', 'hash:c', `verify:${PASSWORD}`]);
    await expect(calls[3]).resolves.toEqual({ ok: true, needsRehash: false });
    expect(limited.state()).toMatchObject({ running: 0, waiting: 0 });
    expect(limited.refusal()).toBeNull();
  });

  test('a call still in line after maxWait is refused (timeout) and leaves the line', async () => {
    const inner = held();
    const limited = limitPasswordHasher(inner.hasher, { concurrency: 1, queue: 5, maxWait: 0.2 });
    const first = limited.verifyDummy('first');
    const started = performance.now();
    const second = limited.verifyDummy('second');
    await expect(second).rejects.toMatchObject({ name: 'PasswordsBusyError', reason: 'timeout' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(limited.state()).toMatchObject({ running: 1, waiting: 0 });
    inner.release();
    await first;
    expect(inner.started).toEqual(['dummy:first']);
  });

  test('bad settings are refused when the hasher is made', () => {
    expect(() => limitPasswordHasher(argon2, { concurrency: 0 })).toThrow(ConfigError);
    expect(() => limitPasswordHasher(argon2, { concurrency: 1.5 })).toThrow(/passwords\.concurrency/);
    expect(() => limitPasswordHasher(argon2, { queue: -1 })).toThrow(/passwords\.queue/);
    expect(() => limitPasswordHasher(argon2, { maxWait: 'soon' })).toThrow(/passwords\.maxWait/);
    expect(() => createPasswordHasher({ limit: { concurrency: 0 } })).toThrow(ConfigError);
  });

  test('createPasswordHasher is limited by default', () => {
    const hasher = createPasswordHasher() as ReturnType<typeof limitPasswordHasher>;
    const state = hasher.state();
    expect(state.concurrency).toBeGreaterThanOrEqual(1);
    expect(state.queue).toBe(64 * state.concurrency);
  });
});

describe('sign-in behind a full limit', () => {
  test('known and unknown users get the same busy answer, and nothing is counted', async () => {
    const inner = held();
    const h = authHarness({ throttle: { account: { failures: 1, window: '15m' } } });
    await h.seed('alice', await argon2.hash(PASSWORD));
    h.deps.passwords = limitPasswordHasher(inner.hasher, { concurrency: 1, queue: 0 });
    const holding = h.signInAs('someone', PASSWORD, '198.51.100.1');
    await settle();
    const known = await h.signInAs('alice', PASSWORD);
    const unknown = await h.signInAs('nobody', PASSWORD);
    expect(known).toEqual({ ok: false, error: 'busy', retryAfterSeconds: 1 });
    expect(unknown).toEqual(known);
    expect(await h.store.counters.get('fail:acct:alice', h.clock.now())).toBeNull();
    expect(await h.store.counters.get('fail:acct:nobody', h.clock.now())).toBeNull();
    inner.release();
    await holding;
    // One attempt per account, and alice's is still there to take.
    expect(await h.signInAs('alice', PASSWORD)).toMatchObject({ ok: true });
  });

  test('an attempt refused while it waited gives its throttle places back', async () => {
    const inner = held();
    const h = authHarness({ throttle: { account: { failures: 1, window: '15m' } } });
    await h.seed('alice', await argon2.hash(PASSWORD));
    h.deps.passwords = limitPasswordHasher(inner.hasher, { concurrency: 1, queue: 1, maxWait: 0.1 });
    const holding = h.signInAs('someone', PASSWORD, '198.51.100.1');
    await settle();
    expect(await h.signInAs('alice', PASSWORD)).toMatchObject({ ok: false, error: 'busy' });
    inner.release();
    await holding;
    expect(await h.signInAs('alice', PASSWORD)).toMatchObject({ ok: true });
  });
});
