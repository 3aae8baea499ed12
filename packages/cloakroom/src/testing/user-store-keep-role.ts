import assert from 'node:assert/strict';
import type { UserStore } from '../auth/types.js';
import { NOW, newUser, type UserIt, unlockedHolders } from './user-fixtures.js';

const admins = async (store: UserStore, ...lockedFlags: boolean[]) =>
  Promise.all(
    lockedFlags.map((locked, i) =>
      store.create(newUser(`admin-${String.fromCharCode(97 + i)}`, { roles: ['admin'], locked }), NOW),
    ),
  );

/**
 * The `keepRole` cases of the user conformance suite: an update with `keepRole: 'admin'`
 * applies only while some *other*, unlocked user holds the role, so however such changes
 * interleave there is always an unlocked admin left.
 */
export function userStoreKeepRoleCases(it: UserIt): void {
  it('keepRole: of two unlocked admins the first can be locked; the second then cannot, and stays as it was', async (store) => {
    const [a, b] = await admins(store, false, false);
    const lockedA = await store.update(a!.id, { locked: true }, NOW + 1, { keepRole: 'admin' });
    assert.deepEqual(lockedA, { ...a, locked: true, updatedAt: NOW + 1 });
    const refused = await store.update(b!.id, { locked: true, advanceEpoch: true }, NOW + 2, {
      keepRole: 'admin',
    });
    assert.equal(refused, null);
    assert.deepEqual(await store.getById(b!.id), b);
    assert.deepEqual(await unlockedHolders(store, 'admin'), ['admin-b']);
  });

  it('keepRole: a locked admin, a user without the role and the user itself do not count', async (store) => {
    const [, b] = await admins(store, true, false);
    await store.create(newUser('carol', { roles: ['user', 'auditor'] }), NOW);
    assert.equal(await store.update(b!.id, { roles: ['user'] }, NOW + 1, { keepRole: 'admin' }), null);
    assert.equal(await store.update(b!.id, { locked: true }, NOW + 1, { keepRole: 'admin' }), null);
    // The condition is about the others, whatever the patch does: not even a rename applies.
    assert.equal(await store.update(b!.id, { displayName: 'B' }, NOW + 1, { keepRole: 'admin' }), null);
    assert.deepEqual(await store.getById(b!.id), b);
  });

  it('keepRole: demoting one of two admins applies; demoting the other then returns null', async (store) => {
    const [a, b] = await admins(store, false, false);
    const demoted = await store.update(a!.id, { roles: ['user'] }, NOW + 1, { keepRole: 'admin' });
    assert.deepEqual(demoted?.roles, ['user']);
    assert.equal(await store.update(b!.id, { roles: ['user'] }, NOW + 2, { keepRole: 'admin' }), null);
    assert.deepEqual(await unlockedHolders(store, 'admin'), ['admin-b']);
    assert.equal(await store.update('no-such-id', { locked: true }, NOW, { keepRole: 'admin' }), null);
  });

  it('keepRole with ifPasswordHash applies only when both hold', async (store) => {
    const [a, b] = await admins(store, false, false);
    const wrongHash = { keepRole: 'admin', ifPasswordHash: '$argon2id$not-the-stored-one' };
    assert.equal(await store.update(a!.id, { locked: true }, NOW + 1, wrongHash), null);
    assert.deepEqual(await store.getById(a!.id), a);
    const both = { keepRole: 'admin', ifPasswordHash: a!.passwordHash };
    assert.equal((await store.update(a!.id, { locked: true }, NOW + 2, both))?.locked, true);
    const noOtherAdmin = { keepRole: 'admin', ifPasswordHash: b!.passwordHash };
    assert.equal(await store.update(b!.id, { locked: true }, NOW + 3, noOtherAdmin), null);
    assert.deepEqual(await store.getById(b!.id), b);
  });

  it('keepRole: 10 concurrent changes of two admins locking and demoting each other leave one unlocked admin', async (store) => {
    const [a, b] = await admins(store, false, false);
    const changes = [{ locked: true }, { roles: ['user'] }, { locked: true, roles: ['user'] }];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.update((i % 2 === 0 ? a : b)!.id, changes[i % 3]!, NOW + i, { keepRole: 'admin' }),
      ),
    );
    assert.ok(results.some((user) => user !== null));
    assert.equal((await unlockedHolders(store, 'admin')).length, 1);
  });
}
