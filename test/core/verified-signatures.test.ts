import { describe, expect, test } from 'vitest';
import { createSessions } from '../../packages/cloakroom/src/core/sessions.js';
import { createVerifiedSignatures } from '../../packages/cloakroom/src/core/verified-signatures.js';
import {
  cookiePair,
  cookieValueOf,
  coreHarness,
  flip,
  incoming,
  SECRET_A,
  SECRET_B,
} from '../support/core.js';

// The core remembers signatures it has verified (by store key), so a cookie seen again skips the
// HMAC. These attack the memo: it must never let through what the full check would refuse.

describe('remembered signatures', () => {
  test('after a cookie verified, the same token with any other signature is still refused without a store read', async () => {
    const { sessions, calls } = coreHarness();
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const good = cookieValueOf(issued.setCookie[0]);
    expect((await sessions.validate(incoming({ cookie: `cloakroom=${good}` }))).session).not.toBeNull();
    const [token, signature] = good.split('.') as [string, string];
    const reads = calls.get ?? 0;
    for (const index of [0, 21, 41]) {
      const forged = `cloakroom=${token}.${flip(signature, index)}`;
      expect(await sessions.validate(incoming({ cookie: forged }))).toMatchObject({
        session: null,
        reason: 'bad-signature',
      });
    }
    expect(calls.get ?? 0).toBe(reads);
    // And the genuine cookie still works afterwards: a refused look-alike does not evict it.
    expect((await sessions.validate(incoming({ cookie: `cloakroom=${good}` }))).session?.userId).toBe(
      'alice',
    );
  });

  test('a remembered cookie is still dead after sign-out and revocation: the store is read on every request', async () => {
    const { sessions } = coreHarness();
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const cookie = cookiePair(issued.setCookie[0]);
    expect((await sessions.validate(incoming({ cookie }))).session).not.toBeNull();
    await sessions.destroy(incoming({ cookie, method: 'POST' }));
    expect(await sessions.validate(incoming({ cookie }))).toMatchObject({
      session: null,
      reason: 'not-found',
    });
  });

  test('what one keyring verified means nothing to another: a cookie of a retired key is refused', async () => {
    const a = coreHarness({ secrets: [SECRET_A] });
    const issued = await a.sessions.create(incoming(), { userId: 'alice' });
    const cookie = cookiePair(issued.setCookie[0]);
    expect((await a.sessions.validate(incoming({ cookie }))).session).not.toBeNull();
    const onlyB = createSessions({ secrets: [SECRET_B], store: a.store, clock: a.clock });
    expect((await onlyB.validate(incoming({ cookie }))).reason).toBe('bad-signature');
  });

  test('bounded: past its size the memo starts over, and a forgotten pair verifies in full again', () => {
    const memo = createVerifiedSignatures(3);
    memo.remember('k1', 's1', 0);
    memo.remember('k2', 's2', 1);
    memo.remember('k3', 's3', 0);
    expect(memo.lookup('k2', 's2')).toBe(1);
    memo.remember('k4', 's4', 0);
    expect(memo.lookup('k1', 's1')).toBeUndefined();
    expect(memo.lookup('k4', 's4')).toBe(0);
    expect(memo.lookup('k4', 's5')).toBeUndefined();
    expect(memo.lookup('k4', 's')).toBeUndefined();
  });

  test('the same cookie, validated twice, gives the same session either way', async () => {
    const { sessions } = coreHarness({ secrets: [SECRET_B, SECRET_A] });
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const cookie = cookiePair(issued.setCookie[0]);
    const first = await sessions.validate(incoming({ cookie }));
    const second = await sessions.validate(incoming({ cookie }));
    expect(second.session).toEqual(first.session);
    expect(second.session?.id).toBe(issued.session.id);
  });
});
