import assert from 'node:assert/strict';
import type { SessionRecord, SessionStore } from '../core/store.js';
import { HOUR, MINUTE, sessionRecord } from './session-fixtures.js';

type It = (title: string, body: (store: SessionStore) => Promise<void>) => unknown;

/**
 * Records already past a deadline by the real clock (the store's clock in these suites), as a
 * store may still hold them until its sweep runs: one past its idle deadline, one past its
 * absolute deadline while its idle deadline is still ahead.
 */
function expiredRecords(): { idleOver: SessionRecord; absoluteOver: SessionRecord } {
  const now = Date.now();
  return {
    idleOver: sessionRecord({
      createdAt: now - 2 * HOUR,
      lastSeenAt: now - 31 * MINUTE,
      idleExpiresAt: now - MINUTE,
      absoluteExpiresAt: now + HOUR,
      data: { v: 1 },
    }),
    absoluteOver: sessionRecord({
      createdAt: now - 13 * HOUR,
      lastSeenAt: now - MINUTE,
      idleExpiresAt: now + 29 * MINUTE,
      absoluteExpiresAt: now - MINUTE,
      data: { v: 1 },
    }),
  };
}

/** Still held as it was (not yet swept), or gone — never changed. */
async function unchangedOrGone(store: SessionStore, record: SessionRecord): Promise<void> {
  const stored = await store.get(record.id);
  if (stored !== null) assert.deepEqual(stored, record);
}

/**
 * The cases of the session conformance suite about expired records nobody has swept yet: a
 * write never revives or changes them, and a bulk delete does not count them as revoked.
 */
export function sessionStoreExpiredCases(it: It): void {
  it('touch of a session past its idle or absolute deadline (not yet swept) returns false and extends nothing', async (store) => {
    const { idleOver, absoluteOver } = expiredRecords();
    for (const record of [idleOver, absoluteOver]) {
      await store.create(record);
      const now = Date.now();
      assert.equal(await store.touch(record.id, now, now + 30 * MINUTE), false);
      await unchangedOrGone(store, record);
    }
    assert.deepEqual(await store.listByUser('user-ada', Date.now()), []);
  });

  it('updateData of a session past its idle or absolute deadline (not yet swept) returns false and changes nothing', async (store) => {
    const { idleOver, absoluteOver } = expiredRecords();
    for (const record of [idleOver, absoluteOver]) {
      await store.create(record);
      assert.equal(await store.updateData(record.id, { set: { v: 2, added: true }, remove: ['v'] }), false);
      await unchangedOrGone(store, record);
    }
  });

  it('deleteByUser removes expired unswept sessions too but counts only the live ones', async (store) => {
    const { idleOver, absoluteOver } = expiredRecords();
    const live = [sessionRecord(), sessionRecord()];
    const bob = sessionRecord({ userId: 'user-bob' });
    for (const record of [...live, idleOver, absoluteOver, bob]) await store.create(record);
    assert.equal(await store.deleteByUser('user-ada'), 2);
    for (const record of [...live, idleOver, absoluteOver]) assert.equal(await store.get(record.id), null);
    assert.deepEqual(await store.get(bob.id), bob);
  });

  it('deleteByUser with exceptId counts only the other live sessions', async (store) => {
    const { idleOver } = expiredRecords();
    const [current, other] = [sessionRecord(), sessionRecord()];
    for (const record of [current, other, idleOver]) await store.create(record);
    assert.equal(await store.deleteByUser('user-ada', current.id), 1);
    assert.deepEqual(await store.get(current.id), current);
    assert.equal(await store.get(other.id), null);
  });
}
