import assert from 'node:assert/strict';
import type { SessionRecord, SessionStore } from '../core/store.js';
import { MINUTE, sessionRecord } from './session-fixtures.js';

type It = (title: string, body: (store: SessionStore) => Promise<void>) => unknown;

// Past 2^32 ms ahead of the epoch's usual values, so a 32-bit column or a rounding float would show.
const LARGE_TIME = 2 ** 45 + 1;

/**
 * Method names a store must keep as given: to the store they are opaque strings. A store that
 * joined them on commas, normalised, sorted or de-duplicated them would give back others.
 */
const ODD_METHODS = ['otp', 'a,b', '', ' ', 'NULL', '{x}', '["y"]', 'say "hi"\\', 'pwd', 'pwd', 'ü'];

const listed = async (store: SessionStore, record: SessionRecord): Promise<SessionRecord | undefined> =>
  (await store.listByUser(record.userId, Date.now())).find((r) => r.id === record.id);

/**
 * The cases of the session conformance suite about how and when the user last proved a factor
 * (`authenticatedAt`, `methods`): kept exactly as created, and never changed in place (a
 * re-authentication creates a new record).
 */
export function sessionStoreAuthCases(it: It): void {
  it('authenticatedAt and methods round-trip exactly through create, get and listByUser (order, none, odd names)', async (store) => {
    const now = Date.now();
    const records = [
      sessionRecord({ authenticatedAt: now + 90_000, methods: ['pwd', 'otp'] }),
      sessionRecord({ authenticatedAt: now, methods: [] }),
      sessionRecord({ authenticatedAt: LARGE_TIME, methods: ['hwk'] }),
      sessionRecord({ authenticatedAt: now - 5 * MINUTE, methods: [...ODD_METHODS] }),
    ];
    for (const record of records) await store.create(record);
    for (const record of records) {
      const got = await store.get(record.id);
      assert.equal(got?.authenticatedAt, record.authenticatedAt);
      assert.deepEqual(got?.methods, record.methods);
      assert.deepEqual(got, record);
      // Again: a store with a read cache answers this one from it.
      assert.deepEqual(await store.get(record.id), record);
      assert.deepEqual(await listed(store, record), record);
    }
  });

  it('touch and updateData leave authenticatedAt and methods as they were', async (store) => {
    const record = sessionRecord({ authenticatedAt: Date.now() + 7_000, methods: ['pwd', 'hwk'] });
    await store.create(record);
    assert.equal(
      await store.touch(record.id, record.lastSeenAt + MINUTE, record.idleExpiresAt + MINUTE),
      true,
    );
    // Data keys named like the fields, in case a store mixes the two up.
    const data = { authenticatedAt: 0, methods: ['none'], amr: 'x', auth: 1 };
    assert.equal(await store.updateData(record.id, { set: data, remove: ['nothing'] }), true);
    const expected = {
      ...record,
      lastSeenAt: record.lastSeenAt + MINUTE,
      idleExpiresAt: record.idleExpiresAt + MINUTE,
      data,
    };
    assert.deepEqual(await store.get(record.id), expected);
    assert.deepEqual(await listed(store, record), expected);
  });

  it('methods passed in and handed out are copies: changing the array changes nothing stored, nor the next read', async (store) => {
    const record = sessionRecord({ methods: ['pwd', 'otp'] });
    await store.create(record);
    record.methods.push('after-create');
    // Several reads in a row: a store with a read cache answers the later ones from it, and each
    // must hand out an array of its own.
    const reads: SessionRecord[] = [];
    for (let i = 0; i < 4; i++) {
      const got = (await store.get(record.id))!;
      assert.deepEqual(got.methods, ['pwd', 'otp']);
      for (const earlier of reads) assert.notEqual(got.methods, earlier.methods);
      reads.push(got);
      got.methods.push(`changed-${i}`);
      got.methods[0] = 'changed';
    }
    const fromList = (await listed(store, record))!;
    fromList.methods.length = 0;
    assert.deepEqual((await store.get(record.id))?.methods, ['pwd', 'otp']);
    assert.deepEqual((await listed(store, record))?.methods, ['pwd', 'otp']);
  });
}
