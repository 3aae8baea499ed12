import { afterEach, describe, expect, test } from 'vitest';
import {
  beginTotpEnrolment,
  completeSignIn,
  confirmTotpEnrolment,
  resealSecondFactors,
} from '../../packages/cloakroom/src/auth/accounts/index.js';
import { createSecretBox } from '../../packages/cloakroom/src/auth/second-factor/secret-box.js';
import type { UserRecord, UserStore } from '../../packages/cloakroom/src/auth/types.js';
import { incoming, SECRET_A, SECRET_B, SECRET_C } from '../support/core.js';
import { BACKENDS, type Harness, harness, type Instance, instance, STEP } from './second-factor-harness.js';

/*
 * `resealSecondFactors` seals every stored TOTP key under the keyring's newest secret, so an
 * operator can retire an old secret without making the keys of users who have not signed in
 * since the rotation unreadable. A key no secret opens is reported and left alone; a change a
 * sign-in writes meanwhile is never undone (compare-and-set, the decision made again).
 */

/** The id of the key a sealed text names (`v1.<key id>.…`). */
const keyIdOf = (sealed: string) => sealed.split('.')[1];
const NEWEST = keyIdOf(createSecretBox([SECRET_B]).seal(new Uint8Array(20), 'x'));

const documentOf = async (h: Harness, userId: string) =>
  JSON.parse((await h.stores.users.getById(userId))!.secondFactor!) as {
    totp: { secret: string; lastStep: number } | null;
    enrolment: { secret: string } | null;
  };

/**
 * The user store, with its first `update` held until `release()`: the reseal has read and decided,
 * and a sign-in on another instance writes before the reseal's write lands. No sleeping.
 */
function pausingFirstUpdate(users: UserStore) {
  let reached!: () => void;
  let release!: () => void;
  const atUpdate = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let updates = 0;
  const store = new Proxy(users, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop !== 'update') return value.bind(target);
      return async (...args: Parameters<UserStore['update']>) => {
        updates += 1;
        if (updates === 1) {
          reached();
          await released;
        }
        return target.update(...args);
      };
    },
  });
  return { store, atUpdate, release, updates: () => updates };
}

describe.each(BACKENDS)('resealing second factors after a secret rotation (%s)', (backend) => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  /** The instance after a rotation: the new secret first, the old one still listed. */
  const rotated = () => instance(h.stores, h.clock, { secrets: [SECRET_B, SECRET_A] });
  /** The instance once the old secret is removed. */
  const retired = () => instance(h.stores, h.clock, { secrets: [SECRET_B] });
  const signInWithCode = (into: Instance, user: UserRecord, code: string) =>
    completeSignIn(into.deps, h.pendingFor(user, into), { code });

  test('moves every key to the newest secret: the old one can be removed and codes still work', async () => {
    h = harness(backend);
    const alice = await h.enrol('alice');
    const bob = await h.enrol('bob');
    const after = rotated();
    expect(await resealSecondFactors(after.deps)).toEqual({
      ok: true,
      resealed: 2,
      current: 0,
      unreadable: [],
    });
    for (const { user } of [alice, bob]) {
      expect(keyIdOf((await documentOf(h, user.id)).totp!.secret)).toBe(NEWEST);
    }
    // One event with the counts; no key, sealed or not, in it.
    expect(after.events).toEqual([
      { event: 'second-factors.resealed', resealed: 2, current: 0, unreadable: 0 },
    ]);

    const only = retired();
    for (const { user, key } of [alice, bob]) {
      expect(await signInWithCode(only, user, h.code(key))).toMatchObject({ ok: true });
    }
  });

  test('a second run reseals nothing and writes no event', async () => {
    h = harness(backend);
    await h.enrol('alice');
    await h.enrol('bob');
    await h.addUser('carol');
    expect(await resealSecondFactors(rotated().deps)).toMatchObject({ resealed: 2 });
    const again = rotated();
    expect(await resealSecondFactors(again.deps)).toEqual({
      ok: true,
      resealed: 0,
      current: 2,
      unreadable: [],
    });
    expect(again.events).toEqual([]);
  });

  test('a key no secret of the keyring opens is reported and left as it is; the others are resealed', async () => {
    h = harness(backend);
    const alice = await h.enrol('alice');
    const carol = await h.enrol('carol');
    // carol's key sealed under a secret the keyring never held (one removed too early).
    const doc = await documentOf(h, carol.user.id);
    const lost = createSecretBox([SECRET_C]).seal(new Uint8Array(20).fill(7), carol.user.id);
    const text = JSON.stringify({ ...doc, totp: { ...doc.totp, secret: lost } });
    await h.stores.users.update(carol.user.id, { secondFactor: text }, h.clock.now());

    const after = rotated();
    expect(await resealSecondFactors(after.deps)).toEqual({
      ok: true,
      resealed: 1,
      current: 0,
      unreadable: [carol.user.id],
    });
    expect((await h.stores.users.getById(carol.user.id))!.secondFactor).toBe(text);
    expect(keyIdOf((await documentOf(h, alice.user.id)).totp!.secret)).toBe(NEWEST);
    expect(after.events).toEqual([
      { event: 'second-factors.resealed', resealed: 1, current: 0, unreadable: 1 },
    ]);
  });

  test('an enrolment in progress is resealed too, and can be confirmed once the old secret is gone', async () => {
    h = harness(backend);
    const dave = await h.addUser('dave');
    const session = await h.signedIn('dave');
    const begun = await beginTotpEnrolment(h.deps, session);
    if (!begun.ok) throw new Error(begun.error);
    expect(await resealSecondFactors(rotated().deps)).toEqual({
      ok: true,
      resealed: 1,
      current: 0,
      unreadable: [],
    });
    expect(keyIdOf((await documentOf(h, dave.id)).enrolment!.secret)).toBe(NEWEST);

    const confirmed = await confirmTotpEnrolment(retired().deps, incoming({ method: 'POST' }), session, {
      code: h.code(begun.secret),
    });
    expect(confirmed).toMatchObject({ ok: true });
  });

  test('a sign-in that writes while the reseal decides is not lost: the reseal decides again on its write', async () => {
    h = harness(backend);
    const alice = await h.enrol('alice');
    const paused = pausingFirstUpdate(h.stores.users);
    const after = rotated();
    const running = resealSecondFactors({ ...after.deps, users: paused.store });
    // A reseal that ends without writing fails here at once, not at the test's timeout.
    await Promise.race([
      paused.atUpdate,
      running.then(() => {
        throw new Error('the reseal ended without writing');
      }),
    ]);
    // An instance still on the old keyring alone: its sign-in writes the step, not a new seal.
    const code = h.code(alice.key);
    expect(await signInWithCode(h, alice.user, code)).toMatchObject({ ok: true });
    const step = (await documentOf(h, alice.user.id)).totp!.lastStep;
    paused.release();

    expect(await running).toEqual({ ok: true, resealed: 1, current: 0, unreadable: [] });
    expect(paused.updates()).toBe(2);
    const doc = await documentOf(h, alice.user.id);
    expect(doc.totp).toMatchObject({ lastStep: step });
    expect(keyIdOf(doc.totp!.secret)).toBe(NEWEST);
    // The step the sign-in used stays used: the code cannot be replayed, the next one works.
    const only = retired();
    expect(await signInWithCode(only, alice.user, code)).toMatchObject({ ok: false, error: 'invalid_code' });
    h.clock.advance(STEP);
    expect(await signInWithCode(only, alice.user, h.code(alice.key))).toMatchObject({ ok: true });
  });
});
