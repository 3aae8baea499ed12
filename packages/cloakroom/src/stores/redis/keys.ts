import { ConfigError } from '../../core/errors.js';

/**
 * Where each thing lives in Redis. Every command and every script of this store touches
 * exactly ONE key, so the layout works unchanged on a single server, behind Sentinel and on
 * Redis Cluster (no CROSSSLOT errors, no hash tags needed, keys spread evenly over slots):
 *
 * | key                     | type | holds                                                           |
 * | ----------------------- | ---- | --------------------------------------------------------------- |
 * | `<prefix>s:<sessionId>` | HASH | one session, one field per column, `d:<key>` per data key       |
 * | `<prefix>u:<userId>`    | ZSET | the user's session ids, scored by `absoluteExpiresAt`           |
 * | `<prefix>c:<key>`       | HASH | one throttling counter: `count`, `reset` (end of the window)    |
 *
 * Why not hash-tag a session into its user's slot (`{<userId>}`) so create/delete could be one
 * MULTI? Because the cookie yields only the session id: finding the key would first need a
 * lookup id → user, two round trips on every request. The hot path (`get`) must stay one
 * `HGETALL`, so the session key is addressed by its id alone, and the few operations that
 * touch both a session and its user's index do it in a fixed order instead (see `sessions.ts`).
 */
export interface RedisKeys {
  session(id: string): string;
  userIndex(userId: string): string;
  counter(key: string): string;
}

/** Builds the key functions for `prefix`, refusing a prefix that would break the layout. */
export function redisKeys(prefix: string): RedisKeys {
  if (typeof prefix !== 'string') throw new ConfigError('prefix', 'must be a string');
  // A `{…}` in the prefix would be a hash tag: every key of every user in ONE cluster slot,
  // so one node would hold (and serve) all sessions.
  if (/[{}]/.test(prefix)) {
    throw new ConfigError(
      'prefix',
      `must not contain "{" or "}" (a hash tag would put every key in one slot)`,
    );
  }
  return {
    session: (id) => `${prefix}s:${id}`,
    userIndex: (userId) => `${prefix}u:${userId}`,
    counter: (key) => `${prefix}c:${key}`,
  };
}
