import assert from 'node:assert/strict';
import type { SessionBinding, SessionRecord, SessionStore } from '../core/store.js';
import { HOUR, MINUTE, sessionBinding, sessionRecord } from './session-fixtures.js';

type It = (title: string, body: (store: SessionStore) => Promise<void>) => unknown;

type Bind = (id: string, expected: SessionBinding | null, next: SessionBinding) => Promise<boolean>;

/**
 * The store's `bind`. Optional in the interface, but every store of cloakroom implements it and
 * device-bound sessions need it: a store without it fails these cases rather than skipping them.
 */
function bindOf(store: SessionStore): Bind {
  assert.equal(
    typeof store.bind,
    'function',
    'the store does not implement bind(id, expected, next), which device-bound sessions (DBSC) need',
  );
  return (id, expected, next) => store.bind!(id, expected, next);
}

/**
 * `binding` with its members (and its key's) in the reverse order: equal to it, and the same
 * canonical text, but not the same JSON.stringify text.
 */
function reordered(binding: SessionBinding): SessionBinding {
  const jwk = Object.fromEntries(Object.entries(binding.jwk).reverse());
  return Object.fromEntries(Object.entries({ ...binding, jwk }).reverse()) as unknown as SessionBinding;
}

/** Still held as it was (not yet swept), or gone — never changed, never recreated. */
async function unchangedOrGone(store: SessionStore, record: SessionRecord): Promise<void> {
  const stored = await store.get(record.id);
  if (stored !== null) assert.deepEqual(stored, record);
}

/**
 * The device-binding (DBSC) cases of the session conformance suite: the binding round-trips
 * exactly, and `bind` is a compare-and-set on a live record that writes nothing else and lets
 * exactly one of many parallel callers through.
 */
export function sessionStoreBindingCases(it: It): void {
  it('binding round-trips exactly through create, get and listByUser (EC key, RSA key, none)', async (store) => {
    const ec = sessionRecord({ binding: sessionBinding('EC') });
    // No challenge out: a null challenge and an expiry of 0 come back as they went in.
    const rsa = sessionRecord({ binding: sessionBinding('RSA', { challenge: null, challengeExpiresAt: 0 }) });
    const none = sessionRecord({ binding: null });
    for (const record of [ec, rsa, none]) await store.create(record);
    for (const record of [ec, rsa, none]) assert.deepEqual(await store.get(record.id), record);
    const listed = await store.listByUser('user-ada', Date.now());
    assert.equal(listed.length, 3);
    for (const record of [ec, rsa, none]) {
      assert.deepEqual(
        listed.find((r) => r.id === record.id),
        record,
      );
    }
  });

  it('a binding passed in and handed out is a copy: mutating it changes nothing stored', async (store) => {
    const binding = sessionBinding('EC');
    const record = sessionRecord({ binding });
    const expected = structuredClone(record);
    await store.create(record);
    binding.challenge = 'changed';
    (binding.jwk as { x: string }).x = 'changed';
    const fromGet = (await store.get(record.id))!;
    fromGet.binding!.refreshedAt = 0;
    (fromGet.binding!.jwk as { x: string }).x = 'changed';
    const [fromList] = await store.listByUser(expected.userId, Date.now());
    (fromList!.binding!.jwk as { y: string }).y = 'changed';
    assert.deepEqual(await store.get(record.id), expected);
  });

  it('bind from unbound succeeds once, get shows the binding, and nothing else changed', async (store) => {
    const bind = bindOf(store);
    const record = sessionRecord({ data: { cart: [1, 2] } });
    await store.create(record);
    // Read first: a store with a read cache now holds the unbound record, and must drop it.
    assert.deepEqual(await store.get(record.id), record);
    const binding = sessionBinding('EC');
    assert.equal(await bind(record.id, null, binding), true);
    assert.deepEqual(await store.get(record.id), { ...record, binding });
    const [listed] = await store.listByUser(record.userId, Date.now());
    assert.deepEqual(listed, { ...record, binding });
    // No longer unbound: a second registration finds nothing to replace.
    assert.equal(await bind(record.id, null, sessionBinding('RSA')), false);
    assert.deepEqual(await store.get(record.id), { ...record, binding });
  });

  it('bind replaces a binding only while it is still `expected`; a stale one returns false and changes nothing', async (store) => {
    const bind = bindOf(store);
    const first = sessionBinding('RSA');
    const record = sessionRecord({ binding: first });
    await store.create(record);
    assert.deepEqual(await store.get(record.id), record);
    const second = { ...first, challenge: 'next-challenge', refreshedAt: first.refreshedAt + MINUTE };
    assert.equal(await bind(record.id, first, second), true);
    assert.deepEqual(await store.get(record.id), { ...record, binding: second });

    const third = sessionBinding('EC');
    // The binding that was replaced, unbound, and one member off: all stale.
    assert.equal(await bind(record.id, first, third), false);
    assert.equal(await bind(record.id, null, third), false);
    assert.equal(await bind(record.id, { ...second, challenge: null }, third), false);
    assert.equal(
      await bind(record.id, { ...second, challengeExpiresAt: second.challengeExpiresAt + 1 }, third),
      false,
    );
    assert.deepEqual(await store.get(record.id), { ...record, binding: second });

    // Compared as canonical text: the same binding with its members in another order is current.
    assert.equal(await bind(record.id, reordered(second), third), true);
    assert.deepEqual(await store.get(record.id), { ...record, binding: third });
  });

  it('bind leaves touch and updateData alone, and they leave the binding alone', async (store) => {
    const bind = bindOf(store);
    const record = sessionRecord({ data: { keep: 1 } });
    await store.create(record);
    const lastSeenAt = record.lastSeenAt + MINUTE;
    const idleExpiresAt = record.idleExpiresAt + MINUTE;
    assert.equal(await store.touch(record.id, lastSeenAt, idleExpiresAt), true);
    const binding = sessionBinding('EC');
    assert.equal(await bind(record.id, null, binding), true);
    assert.equal(await store.updateData(record.id, { set: { added: true } }), true);
    assert.equal(await store.touch(record.id, lastSeenAt + MINUTE, idleExpiresAt + MINUTE), true);
    assert.deepEqual(await store.get(record.id), {
      ...record,
      lastSeenAt: lastSeenAt + MINUTE,
      idleExpiresAt: idleExpiresAt + MINUTE,
      data: { keep: 1, added: true },
      binding,
    });
  });

  it('bind of a missing id, or after delete, returns false and creates nothing', async (store) => {
    const bind = bindOf(store);
    assert.equal(await bind('no-such-session', null, sessionBinding()), false);
    assert.equal(await store.get('no-such-session'), null);

    const binding = sessionBinding();
    const record = sessionRecord({ binding });
    await store.create(record);
    assert.equal(await store.delete(record.id), true);
    assert.equal(await bind(record.id, binding, sessionBinding()), false);
    assert.equal(await bind(record.id, null, sessionBinding()), false);
    assert.equal(await store.get(record.id), null);
    assert.deepEqual(await store.listByUser(record.userId, Date.now()), []);
  });

  it('bind of a session past its idle or absolute deadline (not yet swept) returns false and changes nothing', async (store) => {
    const bind = bindOf(store);
    const now = Date.now();
    const binding = sessionBinding('EC');
    const idleOver = sessionRecord({
      createdAt: now - 2 * HOUR,
      lastSeenAt: now - 31 * MINUTE,
      idleExpiresAt: now - MINUTE,
      absoluteExpiresAt: now + HOUR,
    });
    const absoluteOver = sessionRecord({
      createdAt: now - 13 * HOUR,
      lastSeenAt: now - MINUTE,
      idleExpiresAt: now + 29 * MINUTE,
      absoluteExpiresAt: now - MINUTE,
      binding,
    });
    await store.create(idleOver);
    await store.create(absoluteOver);
    assert.equal(await bind(idleOver.id, null, sessionBinding()), false);
    assert.equal(await bind(absoluteOver.id, binding, sessionBinding()), false);
    await unchangedOrGone(store, idleOver);
    await unchangedOrGone(store, absoluteOver);
    assert.deepEqual(await store.listByUser('user-ada', Date.now()), []);
  });

  it('of 20 parallel binds with the same expected exactly one succeeds, and its binding is stored', async (store) => {
    const bind = bindOf(store);
    const record = sessionRecord();
    await store.create(record);
    assert.deepEqual(await store.get(record.id), record);
    let expected: SessionBinding | null = null;
    // A registration race, then a race of refreshes answering the same challenge.
    for (const round of ['register', 'refresh']) {
      const nexts = Array.from({ length: 20 }, (_, i) => sessionBinding(i % 2 === 0 ? 'EC' : 'RSA'));
      const results = await Promise.all(nexts.map((next) => bind(record.id, expected, next)));
      const winners = results.flatMap((ok, i) => (ok ? [i] : []));
      assert.equal(winners.length, 1, `${round}: ${winners.length} of 20 binds succeeded, not exactly one`);
      const winner = nexts[winners[0]!]!;
      assert.deepEqual(await store.get(record.id), { ...record, binding: winner });
      expected = winner;
    }
  });
}
