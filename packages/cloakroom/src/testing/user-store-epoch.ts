import assert from 'node:assert/strict';
import { NOW, newUser, type UserIt } from './user-fixtures.js';

/**
 * The credential-epoch cases of the user conformance suite: a new user starts at 0, and
 * `advanceEpoch` adds exactly one in the same atomic step as the rest of its patch — however
 * many such updates run at once, none is lost (the store increments; it never writes back a
 * value it read earlier).
 */
export function userStoreEpochCases(it: UserIt): void {
  it('a new user has epoch 0', async (store) => {
    const created = await store.create(newUser('ada'), NOW);
    assert.equal(created.epoch, 0);
    assert.equal((await store.getById(created.id))?.epoch, 0);
    assert.equal((await store.getByUsername('ada'))?.epoch, 0);
    assert.equal((await store.list())[0]?.epoch, 0);
  });

  it('advanceEpoch adds exactly one, together with the rest of the patch', async (store) => {
    const created = await store.create(newUser('ada'), NOW);
    const first = await store.update(created.id, { advanceEpoch: true }, NOW + 10);
    assert.deepEqual(first, { ...created, epoch: 1, updatedAt: NOW + 10 });
    const second = await store.update(
      created.id,
      { passwordHash: '$argon2id$new', locked: true, advanceEpoch: true },
      NOW + 20,
    );
    assert.deepEqual(second, {
      ...created,
      passwordHash: '$argon2id$new',
      locked: true,
      epoch: 2,
      updatedAt: NOW + 20,
    });
    assert.deepEqual(await store.getById(created.id), second);
  });

  it('a patch without advanceEpoch (or with advanceEpoch: false) leaves the epoch as it is', async (store) => {
    const created = await store.create(newUser('ada'), NOW);
    await store.update(created.id, { advanceEpoch: true }, NOW + 1);
    const patched = await store.update(
      created.id,
      { displayName: 'Ada L.', roles: ['admin'], locked: true, passwordHash: '$argon2id$new' },
      NOW + 2,
    );
    assert.equal(patched?.epoch, 1);
    assert.equal((await store.update(created.id, { advanceEpoch: false }, NOW + 3))?.epoch, 1);
    assert.equal((await store.getById(created.id))?.epoch, 1);
  });

  it('20 concurrent advanceEpoch updates end at epoch 20, each seeing a distinct epoch (none lost)', async (store) => {
    const created = await store.create(newUser('ada'), NOW);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.update(created.id, { advanceEpoch: true }, NOW + i)),
    );
    assert.deepEqual(
      results.map((user) => user?.epoch).sort((a = 0, b = 0) => a - b),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    assert.equal((await store.getById(created.id))?.epoch, 20);
  });

  it('an update whose condition fails does not advance the epoch', async (store) => {
    const created = await store.create(newUser('ada'), NOW);
    const stale = await store.update(created.id, { advanceEpoch: true }, NOW + 1, {
      ifPasswordHash: '$argon2id$not-the-stored-one',
    });
    assert.equal(stale, null);
    assert.deepEqual(await store.getById(created.id), created);
  });
}
