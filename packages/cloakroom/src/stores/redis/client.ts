import { StoreError } from '../../core/errors.js';

/** Keys and arguments of one `EVAL`/`EVALSHA`, as node-redis takes them. */
export interface ScriptArguments {
  keys: string[];
  arguments: string[];
}

/**
 * The part of a node-redis client this store uses. A structural subset rather than
 * `RedisClientType`, so a `createClient()` client (v4 to v6), a `createCluster()` client
 * and a client with modules or scripts of its own all fit. The store only sends commands on
 * it: it never connects, quits or configures the client.
 */
export interface RedisClientLike {
  /** node-redis: `false` while connecting or reconnecting. */
  readonly isReady?: boolean;
  hGetAll(key: string): Promise<unknown>;
  hmGet(key: string, fields: string[]): Promise<unknown>;
  zRem(key: string, members: string[]): Promise<unknown>;
  del(key: string): Promise<unknown>;
  eval(script: string, options: ScriptArguments): Promise<unknown>;
  evalSha(sha1: string, options: ScriptArguments): Promise<unknown>;
  ping(): Promise<unknown>;
}

/**
 * Fails fast while the client is (re)connecting. Without this a client that keeps its
 * offline queue (node-redis' default) would hold every request until Redis returns; fail
 * closed means answering 503 now and recovering by itself once the client is ready again.
 */
export function assertReady(client: RedisClientLike): void {
  if (client.isReady === false) {
    throw new StoreError('redis store: the Redis client is not connected (reconnecting?)');
  }
}

const text = (value: unknown): string => (typeof value === 'string' ? value : String(value));

/**
 * The field → value pairs of an `HGETALL` reply, whatever type mapping the caller's client
 * uses (RESP2 object, RESP3 `Map`, flat array; strings or Buffers).
 */
export function hashEntries(reply: unknown): Array<[string, string]> {
  if (reply instanceof Map) return [...reply].map(([k, v]) => [text(k), text(v)]);
  if (Array.isArray(reply)) {
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([text(reply[i]), text(reply[i + 1])]);
    return pairs;
  }
  if (reply !== null && typeof reply === 'object') {
    return Object.entries(reply).map(([k, v]) => [k, text(v)]);
  }
  return [];
}

/** A bulk-string or nil element of an array reply, as `string | null`. */
export const optionalText = (value: unknown): string | null =>
  value === null || value === undefined ? null : text(value);
