import assert from 'node:assert/strict';
import type { SessionStore } from '../core/store.js';
import { MINUTE, sessionRecord } from './session-fixtures.js';

type It = (title: string, body: (store: SessionStore) => Promise<void>) => unknown;

// Past 2^32, so a 32-bit column or a float that rounds would show; still a safe integer.
const LARGE_EPOCH = 2 ** 40 + 3;

/**
 * The credential-epoch cases of the session conformance suite. The epoch is opaque to the
 * store: it is kept exactly as given, and nothing the store does to a session changes it
 * (a rotation that takes a new epoch is the core's business: a new record).
 */
export function sessionStoreEpochCases(it: It): void {
  it('epoch round-trips exactly through create, get and listByUser (0, small and large)', async (store) => {
    const records = [0, 1, LARGE_EPOCH].map((epoch) => sessionRecord({ epoch }));
    for (const record of records) await store.create(record);
    for (const record of records) assert.equal((await store.get(record.id))?.epoch, record.epoch);
    const listed = await store.listByUser('user-ada', Date.now());
    assert.deepEqual(
      records.map((record) => listed.find((r) => r.id === record.id)?.epoch),
      [0, 1, LARGE_EPOCH],
    );
  });

  it('touch and updateData leave the epoch as it was', async (store) => {
    const record = sessionRecord({ epoch: LARGE_EPOCH });
    await store.create(record);
    assert.equal(
      await store.touch(record.id, record.lastSeenAt + MINUTE, record.idleExpiresAt + MINUTE),
      true,
    );
    assert.equal(await store.updateData(record.id, { set: { epoch: 0 }, remove: ['nothing'] }), true);
    assert.deepEqual(await store.get(record.id), {
      ...record,
      lastSeenAt: record.lastSeenAt + MINUTE,
      idleExpiresAt: record.idleExpiresAt + MINUTE,
      data: { epoch: 0 },
    });
  });
}
