import type { RedisClientLike } from './client.js';
import type { RedisKeys } from './keys.js';
import { INDEX_ADD, INDEX_MEMBERS, runScript } from './scripts.js';

/**
 * A user's session ids, a sorted set scored by each session's `absoluteExpiresAt`. The score
 * is fixed at creation (nothing extends an absolute deadline), so a touch never has to update
 * the index, and a member whose score has passed is certainly dead and can be dropped by
 * score alone. The index is a hint, never the truth: readers check each member's hash.
 */
export interface UserIndex {
  add(userId: string, id: string, absoluteExpiresAt: number, now: number): Promise<void>;
  /** The ids not past their absolute deadline at `now` (older members are dropped on the way). */
  members(userId: string, now: number): Promise<string[]>;
  remove(userId: string, ids: string[]): Promise<void>;
}

export function createUserIndex(client: RedisClientLike, keys: RedisKeys): UserIndex {
  return {
    async add(userId, id, absoluteExpiresAt, now) {
      await runScript(client, INDEX_ADD, keys.userIndex(userId), [
        String(absoluteExpiresAt),
        id,
        String(now),
      ]);
    },

    async members(userId, now) {
      const reply = await runScript(client, INDEX_MEMBERS, keys.userIndex(userId), [String(now)]);
      return Array.isArray(reply) ? reply.map(String) : [];
    },

    async remove(userId, ids) {
      if (ids.length > 0) await client.zRem(keys.userIndex(userId), ids);
    },
  };
}
