import type { Clock } from '../../core/clock.js';
import {
  encodeBinding,
  type SessionBinding,
  type SessionRecord,
  type SessionStore,
} from '../../core/store.js';
import type { CoherentCache } from '../coherent-cache.js';
import { conflictError, guarded } from '../errors.js';
import { copyRecord } from '../memory/copy.js';
import { assertReady, type RedisClientLike } from './client.js';
import type { RedisKeys } from './keys.js';
import { dataChangeArguments, expiryOf, fromHash, toHashFields } from './record.js';
import { BIND, CREATE, DELETE, runScript, TOUCH, UPDATE_DATA } from './scripts.js';
import { createUserIndex } from './user-index.js';

interface Deleted {
  userId: string;
  /** min(idle, absolute deadline) of the deleted hash. */
  expiresAt: number;
}

/** The Redis session store; Redis expires records itself, so there is no sweep. */
export interface RedisSessionStore extends SessionStore {
  ping(): Promise<void>;
  bind(id: string, expected: SessionBinding | null, next: SessionBinding): Promise<boolean>;
}

/*
 * A session hash and its user's index live in different cluster slots (see keys.ts), so no
 * operation may span both atomically. Correctness comes from the ORDER of single-key steps,
 * with these invariants:
 *
 * 1. A session is written before its id enters the index (create). So an index member whose
 *    hash is missing is dead for good (deleted or expired: ids are never reused), and any
 *    reader may drop it — dropping it can never hide a live session.
 * 2. A session is deleted before its id leaves the index (delete, deleteByUser). So while a
 *    session exists, its id stays in the index: revoke-all and the session list never miss it.
 * 3. The only live session missing from the index is one whose create has not returned yet.
 *    If the index step fails, create deletes the session again and rejects; had the process
 *    died in between, the token was never sent to anyone and the hash expires by its TTL.
 * 4. Nothing but create writes a whole hash, and create refuses an existing key; touch,
 *    updateData and bind change fields of an existing hash not past its deadlines (on the
 *    caller's clock) only. A dead session is never resurrected.
 *
 * On a single server a MULTI across both keys would also work, but would break on Cluster;
 * this order is correct on both, and the hot path (`get`) stays one HGETALL.
 */
export function createRedisSessions(
  client: RedisClientLike,
  keys: RedisKeys,
  clock: Clock,
  cache: CoherentCache<SessionRecord> | null = null,
): RedisSessionStore {
  const index = createUserIndex(client, keys);

  /**
   * Runs a write, then drops what it may have changed from the cache BEFORE the caller hears
   * back (also when it failed or timed out: it may have happened all the same). A read sent
   * before the write that answers after it is poisoned too (see coherent-cache.ts), so this
   * instance never serves the old record once the write returned.
   */
  const writing = async <T>(id: string, write: () => Promise<T>): Promise<T> => {
    if (cache === null) return write();
    try {
      return await write();
    } finally {
      cache.invalidate(id);
    }
  };

  const read = async (id: string): Promise<SessionRecord | null> => {
    if (cache === null) return fromHash(id, await client.hGetAll(keys.session(id)));
    const hit = cache.lookup(id);
    // A copy: the core updates the record it is given (lastSeenAt on renewal).
    if (hit !== undefined) return copyRecord(hit);
    const fill = cache.begin(id);
    if (fill === null) return fromHash(id, await client.hGetAll(keys.session(id)));
    let record: SessionRecord | null = null;
    try {
      record = fromHash(id, await client.hGetAll(keys.session(id)));
      return record;
    } finally {
      cache.settle(fill, record === null ? null : copyRecord(record));
    }
  };

  /** Deletes one hash; says whose it was and when it expired, or `null` if there was none. */
  const deleteSession = async (id: string, owner?: string): Promise<Deleted | null> => {
    const reply = await runScript(client, DELETE, keys.session(id), owner === undefined ? [] : [owner]);
    // Bulk strings (or Buffers, under a Buffer type mapping); nil comes back as null.
    if (!Array.isArray(reply) || reply[0] === null || reply[0] === undefined) return null;
    return { userId: String(reply[0]), expiresAt: Math.min(Number(reply[1]), Number(reply[2])) };
  };

  const deleteAll = async (userId: string, exceptId: string | undefined): Promise<number> => {
    const ids = (await index.members(userId, clock.now())).filter((id) => id !== exceptId);
    if (ids.length === 0) return 0;
    // One script per session, each on its own key's node; node-redis pipelines them. The
    // owner check skips an id that (against invariant 1) names another user's session.
    const deleted = await Promise.all(ids.map((id) => deleteSession(id, userId)));
    await index.remove(userId, ids);
    // Only live sessions count as revoked, as in every store.
    const now = clock.now();
    return deleted.filter((d) => d !== null && d.expiresAt > now).length;
  };

  return guarded<RedisSessionStore>(
    {
      async get(id) {
        assertReady(client);
        return read(id);
      },

      async create(record) {
        assertReady(client);
        // Relative TTL on the store's clock (the one the core computed the deadlines with),
        // so a skew between this host's clock and Redis's does not shorten sessions.
        const now = clock.now();
        // A record already over is as good as gone: Redis would drop it at once, so nothing
        // is written (and no reader can catch it in the moment before the key expires).
        if (expiryOf(record) <= now) return;
        const ttl = expiryOf(record) - now;
        await writing(record.id, async () => {
          const created = await runScript(client, CREATE, keys.session(record.id), [
            String(ttl),
            ...toHashFields(record),
          ]);
          if (created !== 1) throw conflictError('session', 'create', 'a session with this id');
          try {
            await index.add(record.userId, record.id, record.absoluteExpiresAt, now);
          } catch (error) {
            // Invariant 3: never leave a live session that revoke-all cannot find.
            await deleteSession(record.id).catch(() => {});
            throw error;
          }
        });
      },

      async touch(id, lastSeenAt, idleExpiresAt) {
        assertReady(client);
        const args = [String(lastSeenAt), String(idleExpiresAt), String(clock.now())];
        return writing(id, async () => (await runScript(client, TOUCH, keys.session(id), args)) === 1);
      },

      async updateData(id, change) {
        assertReady(client);
        const args = dataChangeArguments(clock.now(), change.set ?? {}, change.remove ?? []);
        return writing(id, async () => (await runScript(client, UPDATE_DATA, keys.session(id), args)) === 1);
      },

      async bind(id, expected, next) {
        assertReady(client);
        const args = [
          String(clock.now()),
          expected === null ? '' : encodeBinding(expected),
          encodeBinding(next),
        ];
        return writing(id, async () => (await runScript(client, BIND, keys.session(id), args)) === 1);
      },

      async delete(id) {
        assertReady(client);
        const deleted = await writing(id, () => deleteSession(id));
        if (deleted === null) return false;
        // Invariant 2: the hash is gone first. Should this step fail, the stale member is
        // harmless (invariant 1) and dropped by the next list or by its score; the session
        // itself IS deleted, so report that rather than a false failure.
        await index.remove(deleted.userId, [id]).catch(() => {});
        return true;
      },

      async deleteByUser(userId, exceptId) {
        assertReady(client);
        try {
          return await deleteAll(userId, exceptId);
        } finally {
          // Every cached session of the user, also one the index did not list (a create still
          // in flight, invariant 3): its own invalidation message would drop it too, later.
          cache?.invalidateWhere((record) => record.userId === userId && record.id !== exceptId);
        }
      },

      async listByUser(userId, now) {
        assertReady(client);
        const ids = await index.members(userId, clock.now());
        const replies = await Promise.all(ids.map((id) => client.hGetAll(keys.session(id))));
        const live: SessionRecord[] = [];
        const stale: string[] = [];
        ids.forEach((id, i) => {
          const record = fromHash(id, replies[i]);
          if (record === null || record.userId !== userId) stale.push(id);
          else if (now < expiryOf(record)) live.push(record);
        });
        // Invariant 1: a member without its hash can be dropped safely.
        await index.remove(userId, stale);
        return live;
      },

      async ping() {
        assertReady(client);
        await client.ping();
      },
    },
    { driver: 'redis', store: 'session' },
  );
}
