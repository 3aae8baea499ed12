import { describe, expect, test } from 'vitest';
import { createSessions } from '../../packages/cloakroom/src/core/sessions.js';
import { cookiePair, cookieValueOf, coreHarness, incoming, SECRET_A, SECRET_B } from '../support/core.js';

describe('key rotation', () => {
  test('newest key signs, older keys still verify', async () => {
    const old = coreHarness({ secrets: [SECRET_A] });
    const issued = await old.sessions.create(incoming(), { userId: 'alice' });
    const rotated = createSessions({ secrets: [SECRET_B, SECRET_A], store: old.store, clock: old.clock });
    const result = await rotated.validate(incoming({ cookie: cookiePair(issued.setCookie[0]) }));
    expect(result.session?.userId).toBe('alice');
    const fresh = await rotated.create(incoming(), { userId: 'bob' });
    // A keyring of only the newest key accepts the fresh cookie: it was signed with B.
    const onlyB = createSessions({ secrets: [SECRET_B], store: old.store, clock: old.clock });
    expect((await onlyB.validate(incoming({ cookie: cookiePair(fresh.setCookie[0]) }))).session?.userId).toBe(
      'bob',
    );
  });

  test('an old-key cookie is re-signed with the newest key at its next renewal', async () => {
    const old = coreHarness({ secrets: [SECRET_A] });
    const issued = await old.sessions.create(incoming(), { userId: 'alice' });
    const rotated = createSessions({ secrets: [SECRET_B, SECRET_A], store: old.store, clock: old.clock });
    // Inside the touch interval nothing is written and the cookie is left alone.
    const early = await rotated.validate(incoming({ cookie: cookiePair(issued.setCookie[0]) }));
    expect(early.setCookie).toEqual([]);
    old.clock.advance(61_000);
    const renewed = await rotated.validate(incoming({ cookie: cookiePair(issued.setCookie[0]) }));
    expect(renewed.setCookie).toHaveLength(1);
    const resigned = cookieValueOf(renewed.setCookie[0]);
    expect(resigned.split('.')[0]).toBe(cookieValueOf(issued.setCookie[0]).split('.')[0]);
    const onlyB = createSessions({ secrets: [SECRET_B], store: old.store, clock: old.clock });
    expect((await onlyB.validate(incoming({ cookie: `cloakroom=${resigned}` }))).session?.userId).toBe(
      'alice',
    );
  });

  test('removing a key invalidates exactly the cookies it signed', async () => {
    const h = coreHarness({ secrets: [SECRET_A] });
    const byA = await h.sessions.create(incoming(), { userId: 'alice' });
    const both = createSessions({ secrets: [SECRET_B, SECRET_A], store: h.store, clock: h.clock });
    const byB = await both.create(incoming(), { userId: 'bob' });
    const onlyB = createSessions({ secrets: [SECRET_B], store: h.store, clock: h.clock });
    const a = await onlyB.validate(incoming({ cookie: cookiePair(byA.setCookie[0]) }));
    const b = await onlyB.validate(incoming({ cookie: cookiePair(byB.setCookie[0]) }));
    expect(a.reason).toBe('bad-signature');
    expect(b.session?.userId).toBe('bob');
  });
});
