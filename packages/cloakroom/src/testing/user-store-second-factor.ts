import assert from 'node:assert/strict';
import type { UpdateCondition, UserStore } from '../auth/types.js';
import { NOW, newUser, type UserIt } from './user-fixtures.js';

/**
 * A second-factor document as `auth` might write one, with what a store must not touch: spacing
 * and key order a JSON type would normalise, a number written `1.0`, non-ASCII text, a line
 * separator. The store keeps the text exactly and compares it exactly.
 */
const DOCUMENT =
  '{ "totp": {"secret": "c2VjcmV0", "step": 1.0},\n  "codes": ["a1", "b2"], "name": "Zoë\u2028" }';
const OTHER = '{"totp":{"secret":"bmV3","step":2},"codes":["b2"]}';

/** A user with `DOCUMENT` stored, and the record as it is now. */
async function withDocument(store: UserStore, username = 'ada', roles = ['user']) {
  const created = await store.create(newUser(username, { roles }), NOW);
  const user = await store.update(created.id, { secondFactor: DOCUMENT }, NOW + 1);
  assert.ok(user !== null);
  return user;
}

/**
 * The second-factor cases of the user conformance suite: the document is opaque text, kept and
 * compared exactly, and `ifSecondFactor` is a compare-and-set: however many updates expecting
 * one document run at once, exactly one applies.
 */
export function userStoreSecondFactorCases(it: UserIt): void {
  it('a new user has secondFactor null, wherever it is read', async (store) => {
    const created = await store.create(newUser('ada'), NOW);
    assert.equal(created.secondFactor, null);
    assert.equal((await store.getById(created.id))?.secondFactor, null);
    assert.equal((await store.getByUsername('ada'))?.secondFactor, null);
    assert.equal((await store.list())[0]?.secondFactor, null);
  });

  it('a patch sets the document exactly as given, a patch without it keeps it, null removes it', async (store) => {
    const created = await store.create(newUser('ada'), NOW);
    const set = await store.update(created.id, { secondFactor: DOCUMENT }, NOW + 1);
    assert.deepEqual(set, { ...created, secondFactor: DOCUMENT, updatedAt: NOW + 1 });
    // Read again and again: a store with a read cache answers the later reads from it.
    for (let i = 0; i < 3; i++) assert.deepEqual(await store.getById(created.id), set);
    assert.deepEqual(await store.getByUsername('ada'), set);
    assert.deepEqual(await store.list(), [set]);
    const renamed = await store.update(created.id, { displayName: 'Ada L.', advanceEpoch: true }, NOW + 2);
    assert.equal(renamed?.secondFactor, DOCUMENT);
    assert.equal((await store.getById(created.id))?.secondFactor, DOCUMENT);
    const removed = await store.update(created.id, { secondFactor: null }, NOW + 3);
    assert.deepEqual(removed, { ...renamed, secondFactor: null, updatedAt: NOW + 3 });
    for (let i = 0; i < 3; i++) assert.deepEqual(await store.getById(created.id), removed);
    // The empty text is a document, not none.
    assert.equal((await store.update(created.id, { secondFactor: '' }, NOW + 4))?.secondFactor, '');
    assert.equal((await store.getById(created.id))?.secondFactor, '');
  });

  it('ifSecondFactor refuses a mismatch: returns null and changes nothing', async (store) => {
    const user = await withDocument(store);
    const patch = { secondFactor: OTHER, displayName: 'Eve', locked: true, advanceEpoch: true };
    const mismatches: UpdateCondition[] = [
      { ifSecondFactor: OTHER },
      // Exact text: the same JSON spelled otherwise is another document.
      { ifSecondFactor: JSON.stringify(JSON.parse(DOCUMENT)) },
      { ifSecondFactor: `${DOCUMENT} ` },
      { ifSecondFactor: '' },
      // null: only while there is none, and there is one.
      { ifSecondFactor: null },
    ];
    for (const condition of mismatches) {
      assert.equal(await store.update(user.id, patch, NOW + 10, condition), null);
      assert.deepEqual(await store.getById(user.id), user);
    }
    const bare = await store.create(newUser('bob'), NOW);
    assert.equal(await store.update(bare.id, patch, NOW + 10, { ifSecondFactor: DOCUMENT }), null);
    assert.equal(await store.update(bare.id, patch, NOW + 10, { ifSecondFactor: '' }), null);
    assert.deepEqual(await store.getById(bare.id), bare);
    assert.equal(await store.update('no-such-id', patch, NOW + 10, { ifSecondFactor: null }), null);
  });

  it('ifSecondFactor applies on an exact match, with the rest of the patch, and the old document then no longer matches', async (store) => {
    const user = await withDocument(store);
    const applied = await store.update(user.id, { secondFactor: OTHER, advanceEpoch: true }, NOW + 10, {
      ifSecondFactor: DOCUMENT,
    });
    assert.deepEqual(applied, { ...user, secondFactor: OTHER, epoch: user.epoch + 1, updatedAt: NOW + 10 });
    assert.deepEqual(await store.getById(user.id), applied);
    // A second use of the same document (a recovery code used twice) finds it changed.
    assert.equal(
      await store.update(user.id, { secondFactor: DOCUMENT }, NOW + 20, { ifSecondFactor: DOCUMENT }),
      null,
    );
    // A condition without a change of the document applies too, and keeps it.
    const renamed = await store.update(user.id, { displayName: 'Ada L.' }, NOW + 30, {
      ifSecondFactor: OTHER,
    });
    assert.deepEqual(renamed, { ...applied, displayName: 'Ada L.', updatedAt: NOW + 30 });
    // Removing it under a condition, then the null condition matches.
    const removed = await store.update(user.id, { secondFactor: null }, NOW + 40, { ifSecondFactor: OTHER });
    assert.equal(removed?.secondFactor, null);
    assert.equal(
      (await store.update(user.id, { secondFactor: DOCUMENT }, NOW + 50, { ifSecondFactor: null }))
        ?.secondFactor,
      DOCUMENT,
    );
  });

  it('ifSecondFactor: null applies only while no document is stored', async (store) => {
    const created = await store.create(newUser('ada'), NOW);
    const first = await store.update(created.id, { secondFactor: DOCUMENT }, NOW + 1, {
      ifSecondFactor: null,
    });
    assert.deepEqual(first, { ...created, secondFactor: DOCUMENT, updatedAt: NOW + 1 });
    const second = await store.update(created.id, { secondFactor: OTHER }, NOW + 2, { ifSecondFactor: null });
    assert.equal(second, null);
    assert.deepEqual(await store.getById(created.id), first);
  });

  it('ifSecondFactor combines with ifPasswordHash and keepRole: the update applies only when all hold', async (store) => {
    const a = await withDocument(store, 'admin-a', ['admin']);
    const b = await store.create(newUser('admin-b', { roles: ['admin'] }), NOW);
    const stored = a;
    const patch = { secondFactor: OTHER };
    const refused: UpdateCondition[] = [
      { ifSecondFactor: DOCUMENT, ifPasswordHash: '$argon2id$not-the-stored-one' },
      { ifSecondFactor: OTHER, ifPasswordHash: a.passwordHash },
      { ifSecondFactor: OTHER, keepRole: 'admin' },
      { ifSecondFactor: null, ifPasswordHash: a.passwordHash, keepRole: 'admin' },
    ];
    for (const condition of refused) {
      assert.equal(await store.update(a.id, patch, NOW + 10, condition), null);
      assert.deepEqual(await store.getById(a.id), stored);
    }
    // With no other unlocked admin, keepRole fails though the document matches.
    await store.update(b.id, { locked: true }, NOW + 11);
    assert.equal(
      await store.update(a.id, patch, NOW + 12, { ifSecondFactor: DOCUMENT, keepRole: 'admin' }),
      null,
    );
    assert.deepEqual(await store.getById(a.id), stored);
    await store.update(b.id, { locked: false }, NOW + 13);
    const all = { ifSecondFactor: DOCUMENT, ifPasswordHash: a.passwordHash, keepRole: 'admin' };
    assert.deepEqual(await store.update(a.id, patch, NOW + 14, all), {
      ...stored,
      secondFactor: OTHER,
      updatedAt: NOW + 14,
    });
  });

  // Exactly one of N uses of one recovery code, TOTP step or recovery link may win, also when
  // they arrive at once; with keepRole the update takes the store's other path (a transaction).
  const races: Array<[string, string | null, Omit<UpdateCondition, 'ifSecondFactor'>]> = [
    ['one document', DOCUMENT, {}],
    ['none (a first enrolment)', null, {}],
    ['one document, with keepRole', DOCUMENT, { keepRole: 'admin' }],
  ];
  for (const [what, old, extra] of races) {
    it(`20 parallel compare-and-set updates on ${what}: exactly one wins, and the stored document is its own`, async (store) => {
      const created = await store.create(newUser('ada', { roles: ['admin'] }), NOW);
      await store.create(newUser('bob', { roles: ['admin'] }), NOW);
      if (old !== null) await store.update(created.id, { secondFactor: old }, NOW + 1);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.update(created.id, { secondFactor: `v${i}`, advanceEpoch: true }, NOW + 10 + i, {
            ...extra,
            ifSecondFactor: old,
          }),
        ),
      );
      const winners = results.flatMap((user, i) => (user === null ? [] : [{ user, i }]));
      assert.equal(winners.length, 1, `${winners.length} of 20 updates applied`);
      const { user, i } = winners[0]!;
      assert.equal(user.secondFactor, `v${i}`);
      assert.equal(user.epoch, 1);
      assert.deepEqual(await store.getById(created.id), user);
    });
  }
}
