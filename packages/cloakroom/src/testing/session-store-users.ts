import assert from 'node:assert/strict';
import type { SessionRecord, SessionStore } from '../core/store.js';
import { HOUR, MINUTE, sessionRecord } from './session-fixtures.js';

type It = (title: string, body: (store: SessionStore) => Promise<void>) => unknown;

const ids = (records: SessionRecord[]): string[] => records.map((r) => r.id).sort();

/** The per-user and expiry cases of the session conformance suite. */
export function sessionStoreUserCases(it: It): void {
  it('deleteByUser removes every session of that user only and returns the count', async (store) => {
    const ada = [sessionRecord(), sessionRecord(), sessionRecord()];
    const bob = sessionRecord({ userId: 'user-bob' });
    for (const record of [...ada, bob]) await store.create(record);
    assert.equal(await store.deleteByUser('user-ada'), 3);
    for (const record of ada) assert.equal(await store.get(record.id), null);
    assert.deepEqual(await store.get(bob.id), bob);
    assert.equal(await store.deleteByUser('user-ada'), 0);
  });

  it('deleteByUser keeps the exceptId session and does not count it', async (store) => {
    const [current, other1, other2] = [sessionRecord(), sessionRecord(), sessionRecord()];
    for (const record of [current, other1, other2]) await store.create(record);
    assert.equal(await store.deleteByUser('user-ada', current.id), 2);
    assert.deepEqual(await store.get(current.id), current);
    assert.equal(await store.get(other1.id), null);
    assert.equal(await store.get(other2.id), null);
  });

  it('deleteByUser of a user without sessions returns 0', async (store) => {
    await store.create(sessionRecord({ userId: 'user-bob' }));
    assert.equal(await store.deleteByUser('user-nobody'), 0);
  });

  it("listByUser returns exactly that user's unexpired sessions", async (store) => {
    const ada = [sessionRecord(), sessionRecord({ remember: true, data: { k: [1] } })];
    for (const record of [...ada, sessionRecord({ userId: 'user-bob' })]) await store.create(record);
    const listed = await store.listByUser('user-ada', Date.now());
    assert.deepEqual(ids(listed), ids(ada));
    for (const record of ada)
      assert.deepEqual(
        listed.find((r) => r.id === record.id),
        record,
      );
    assert.deepEqual(await store.listByUser('user-nobody', Date.now()), []);
  });

  it('listByUser leaves out records past their idle or absolute deadline (expired = now >= deadline)', async (store) => {
    const now = Date.now();
    const live = sessionRecord({ idleExpiresAt: now + 2 * HOUR, absoluteExpiresAt: now + 3 * HOUR });
    const idleOver = sessionRecord({ idleExpiresAt: now + 10 * MINUTE, absoluteExpiresAt: now + 3 * HOUR });
    const absoluteOver = sessionRecord({ idleExpiresAt: now + 5 * HOUR, absoluteExpiresAt: now + HOUR });
    const exactlyDue = sessionRecord({ idleExpiresAt: now + HOUR, absoluteExpiresAt: now + 3 * HOUR });
    for (const record of [live, idleOver, absoluteOver, exactlyDue]) await store.create(record);
    assert.deepEqual(ids(await store.listByUser('user-ada', now + HOUR)), [live.id]);
    assert.equal((await store.listByUser('user-ada', now)).length, 4);
  });

  it('sweep, if implemented, removes the records expired at `now` and keeps the live ones', async (store) => {
    if (store.sweep === undefined) return;
    const now = Date.now();
    const idleOver = sessionRecord({ idleExpiresAt: now + 10 * MINUTE });
    const absoluteOver = sessionRecord({ idleExpiresAt: now + 5 * HOUR, absoluteExpiresAt: now + HOUR });
    const live = sessionRecord({ idleExpiresAt: now + 3 * HOUR, absoluteExpiresAt: now + 4 * HOUR });
    for (const record of [idleOver, absoluteOver, live]) await store.create(record);
    assert.equal(await store.sweep(now + 2 * HOUR, 100), 2);
    // By the real clock these are still live, so only the sweep can have removed them.
    assert.equal(await store.get(idleOver.id), null);
    assert.equal(await store.get(absoluteOver.id), null);
    assert.deepEqual(await store.get(live.id), live);
    assert.deepEqual(ids(await store.listByUser('user-ada', now)), [live.id]);
  });

  it('sweep, if implemented, removes at most `limit` records per call', async (store) => {
    if (store.sweep === undefined) return;
    const now = Date.now();
    for (let i = 0; i < 5; i++) await store.create(sessionRecord({ idleExpiresAt: now + MINUTE + i }));
    assert.equal(await store.sweep(now + HOUR, 2), 2);
    assert.equal(await store.sweep(now + HOUR, 10), 3);
    assert.equal(await store.sweep(now + HOUR, 10), 0);
  });
}
