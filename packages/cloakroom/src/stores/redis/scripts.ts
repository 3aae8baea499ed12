import { createHash } from 'node:crypto';
import type { RedisClientLike } from './client.js';
import { FIELD } from './record.js';

/** A Lua script with its SHA-1, so the usual call sends 40 bytes instead of the source. */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

const lua = (source: string): LuaScript => ({
  source,
  sha: createHash('sha1').update(source).digest('hex'),
});

/** Redis forgot the script (restart, `SCRIPT FLUSH`, a fail-over): send its source once. */
const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith('NOSCRIPT');

/**
 * Runs a script by SHA and falls back to its source once if this server does not know it
 * yet (first use, a restart, a fail-over, another cluster node). Every script here takes
 * exactly one key, so on Cluster it runs on the node owning that key.
 */
export async function runScript(
  client: RedisClientLike,
  script: LuaScript,
  key: string,
  args: string[] = [],
): Promise<unknown> {
  const options = { keys: [key], arguments: args };
  try {
    return await client.evalSha(script.sha, options);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return client.eval(script.source, options);
  }
}

// `unpack` pushes every element on Lua's C stack (about 8,000 slots in Redis): a change of
// thousands of keys must go in slices. 1,000 is even, so HSET slices keep field/value pairs.
const CHUNKED = `
local function chunked(cmd, from, to)
  for i = from, to, 1000 do
    redis.call(cmd, KEYS[1], unpack(ARGV, i, math.min(i + 999, to)))
  end
end`;

/**
 * create: ARGV = ttlMs, field, value, … — refuses an existing id (the caller maps 0 to
 * `conflict`), writes every field and the TTL in one atomic step, so no reader ever sees a
 * half-written session or one without an expiry.
 */
export const CREATE = lua(`${CHUNKED}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
chunked('HSET', 2, #ARGV)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`);

/**
 * touch: ARGV = lastSeenAt, idleExpiresAt, now. Only on an existing hash that is not past a
 * deadline at `now` (the caller's clock, like every store's: a touch never recreates or extends a
 * deleted or expired session, even in the moment before Redis drops the key), only forward (two
 * requests finishing out of order never pull a deadline back), and the TTL follows
 * min(idle, absolute). HSET and PEXPIRE never clear an expiry, so the key always keeps one.
 */
export const TOUCH = lua(`
local f = redis.call('HMGET', KEYS[1], '${FIELD.lastSeenAt}', '${FIELD.idleExpiresAt}', '${FIELD.absoluteExpiresAt}')
if not f[1] then return 0 end
if math.min(tonumber(f[2]), tonumber(f[3])) <= tonumber(ARGV[3]) then return 0 end
if tonumber(ARGV[1]) > tonumber(f[1]) then redis.call('HSET', KEYS[1], '${FIELD.lastSeenAt}', ARGV[1]) end
local idle = tonumber(ARGV[2])
if idle > tonumber(f[2]) then
  redis.call('HSET', KEYS[1], '${FIELD.idleExpiresAt}', ARGV[2])
  local ttl = math.max(math.min(idle, tonumber(f[3])) - tonumber(ARGV[3]), 1)
  redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
end
return 1`);

/**
 * updateData: ARGV = now, n, then n field/value pairs to set, then fields to delete. Writes only
 * the named data fields of an existing hash not past a deadline at `now`: two requests changing
 * different keys both keep their change, and a change to a deleted or expired session creates
 * or changes nothing. Deletes run after sets, so a key named in both ends up removed.
 */
export const UPDATE_DATA = lua(`${CHUNKED}
local f = redis.call('HMGET', KEYS[1], '${FIELD.idleExpiresAt}', '${FIELD.absoluteExpiresAt}')
if not f[1] or math.min(tonumber(f[1]), tonumber(f[2])) <= tonumber(ARGV[1]) then return 0 end
local last = 2 * tonumber(ARGV[2]) + 2
if last > 2 then chunked('HSET', 3, last) end
if #ARGV > last then chunked('HDEL', last + 1, #ARGV) end
return 1`);

/**
 * bind: ARGV = now, expected, next. Compare-and-set of the binding field: only on an existing
 * hash not past a deadline at `now` (updateData's rule), and only if the field still holds
 * `expected` (`''` for unbound: a missing field; encodeBinding never yields ''), as canonical
 * text. Writes that one field and nothing else (the TTL stays). A script runs alone, so of
 * many binds with the same `expected` exactly one finds it.
 */
export const BIND = lua(`
local f = redis.call('HMGET', KEYS[1], '${FIELD.idleExpiresAt}', '${FIELD.absoluteExpiresAt}', '${FIELD.binding}')
if not f[1] or math.min(tonumber(f[1]), tonumber(f[2])) <= tonumber(ARGV[1]) then return 0 end
if (f[3] or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], '${FIELD.binding}', ARGV[3])
return 1`);

/**
 * delete: ARGV = [userId]. Deletes the session (only if it belongs to userId, when given) and
 * returns { user id, idle deadline, absolute deadline } — the caller needs the user to drop the
 * id from that user's index, and the deadlines to tell a live session from an expired one — or
 * nil if there was nothing to delete.
 */
export const DELETE = lua(`
local f = redis.call('HMGET', KEYS[1], '${FIELD.userId}', '${FIELD.idleExpiresAt}', '${FIELD.absoluteExpiresAt}')
if not f[1] or (ARGV[1] and f[1] ~= ARGV[1]) then return false end
redis.call('DEL', KEYS[1])
return f`);

/**
 * Index add: ARGV = absoluteExpiresAt, sessionId, now. First drops the members past their
 * absolute deadline at `now` (certainly dead, whatever their idle deadline, so safe under the
 * ordering invariants: the same rule as INDEX_MEMBERS): each sign-in extends the key's TTL, so
 * without this the index of a user who signs in daily would keep one member per sign-in for
 * good. The index key lives until the last absolute deadline among its members, so an index
 * outlives none of its sessions and a signed-out user leaves nothing behind for long.
 */
export const INDEX_ADD = lua(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = math.max(tonumber(last[2]) - tonumber(ARGV[3]), 1)
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
return 1`);

/**
 * Index members: ARGV = now. Drops members past their absolute deadline first — those
 * sessions are certainly gone, whatever their idle deadline — then returns the rest.
 */
export const INDEX_MEMBERS = lua(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)`);

/**
 * Counter increment: ARGV = now, windowMs, now + windowMs. Fixed window with `INCR` +
 * `EXPIRE`-on-first semantics, in one script so the expiry is never lost between two
 * commands. The window end is stored, not read back from PTTL: it is measured on the
 * caller's clock (the `now` passed in), like every other store; the TTL only frees memory.
 */
export const INCREMENT = lua(`
local reset = redis.call('HGET', KEYS[1], 'reset')
if reset and tonumber(ARGV[1]) < tonumber(reset) then
  return { redis.call('HINCRBY', KEYS[1], 'count', 1), reset }
end
redis.call('HSET', KEYS[1], 'count', 1, 'reset', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return { 1, ARGV[3] }`);
