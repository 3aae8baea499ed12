import { decodeBinding, encodeBinding, type JsonValue, type SessionRecord } from '../../core/store.js';
import { hashEntries } from './client.js';

/**
 * Hash field of each column. Short names on purpose: a small hash is stored as a listpack
 * with every field name inline, so each byte here is paid once per session.
 */
export const FIELD = {
  userId: 'uid',
  createdAt: 'created',
  lastSeenAt: 'seen',
  idleExpiresAt: 'idle',
  absoluteExpiresAt: 'abs',
  idleTimeoutMs: 'idleMs',
  remember: 'remember',
  epoch: 'ep',
  authenticatedAt: 'auth',
  /** JSON array text (RFC 8176 calls the claim `amr`). */
  methods: 'amr',
  csrfSecret: 'csrf',
  ip: 'ip',
  userAgent: 'ua',
  /** The canonical text of the session's device binding (encodeBinding); absent when unbound. */
  binding: 'dbsc',
} as const;

/**
 * Each data key is its own field, `d:<key>` → JSON of the value, so a data change writes
 * only the fields it names. The prefix keeps data keys apart from the columns above.
 */
export const DATA_PREFIX = 'd:';

/** The earliest deadline: when the session is over and Redis should drop it. */
export const expiryOf = (record: SessionRecord): number =>
  Math.min(record.idleExpiresAt, record.absoluteExpiresAt);

/**
 * The record as HSET arguments: field, value, field, value, … A `null` ip, user agent or
 * binding is no field; nor is an `authenticatedAt` equal to `createdAt` (a session fresh from
 * its sign-in) or an empty `methods`: a missing field reads as exactly that (as in a hash
 * written before these fields existed), and most sessions save the bytes of a few fields.
 */
export function toHashFields(record: SessionRecord): string[] {
  const fields = [
    FIELD.userId,
    record.userId,
    FIELD.createdAt,
    String(record.createdAt),
    FIELD.lastSeenAt,
    String(record.lastSeenAt),
    FIELD.idleExpiresAt,
    String(record.idleExpiresAt),
    FIELD.absoluteExpiresAt,
    String(record.absoluteExpiresAt),
    FIELD.idleTimeoutMs,
    String(record.idleTimeoutMs),
    FIELD.remember,
    record.remember ? '1' : '0',
    FIELD.epoch,
    String(record.epoch),
    FIELD.csrfSecret,
    record.csrfSecret,
  ];
  if (record.authenticatedAt !== record.createdAt)
    fields.push(FIELD.authenticatedAt, String(record.authenticatedAt));
  // JSON, not a joined list: a method name is opaque here, commas and all.
  if (record.methods.length > 0) fields.push(FIELD.methods, JSON.stringify(record.methods));
  if (record.ip !== null) fields.push(FIELD.ip, record.ip);
  if (record.userAgent !== null) fields.push(FIELD.userAgent, record.userAgent);
  // A record from a caller that predates the field (no binding at all) is unbound too.
  if (record.binding) fields.push(FIELD.binding, encodeBinding(record.binding));
  for (const [key, value] of Object.entries(record.data))
    fields.push(DATA_PREFIX + key, JSON.stringify(value));
  return fields;
}

/**
 * The record of an `HGETALL` reply, or `null` for a missing key (Redis answers an empty hash).
 * Data keys are defined as own properties: a key named `__proto__` stays a plain key and
 * never changes the object's prototype.
 */
export function fromHash(id: string, reply: unknown): SessionRecord | null {
  const fields = new Map<string, string>();
  const data: Record<string, JsonValue> = {};
  for (const [field, value] of hashEntries(reply)) {
    if (field.startsWith(DATA_PREFIX)) {
      Object.defineProperty(data, field.slice(DATA_PREFIX.length), {
        value: JSON.parse(value) as JsonValue,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      fields.set(field, value);
    }
  }
  const userId = fields.get(FIELD.userId);
  if (userId === undefined) return null;
  const num = (field: string): number => Number(fields.get(field));
  // A hash written before sessions carried an epoch has no such field: it reads as 0, the
  // epoch of a user nothing has advanced.
  const epoch = fields.get(FIELD.epoch);
  // One written before sessions carried how and when the user signed in has neither field: it
  // reads as authenticated at its creation, by no method named (toHashFields leaves them out
  // for those values too).
  const createdAt = num(FIELD.createdAt);
  const authenticatedAt = fields.get(FIELD.authenticatedAt);
  const methods = fields.get(FIELD.methods);
  return {
    id,
    userId,
    createdAt,
    lastSeenAt: num(FIELD.lastSeenAt),
    idleExpiresAt: num(FIELD.idleExpiresAt),
    absoluteExpiresAt: num(FIELD.absoluteExpiresAt),
    idleTimeoutMs: num(FIELD.idleTimeoutMs),
    remember: fields.get(FIELD.remember) === '1',
    epoch: epoch === undefined ? 0 : Number(epoch),
    authenticatedAt: authenticatedAt === undefined ? createdAt : Number(authenticatedAt),
    methods: methods === undefined ? [] : (JSON.parse(methods) as string[]),
    csrfSecret: fields.get(FIELD.csrfSecret) ?? '',
    ip: fields.get(FIELD.ip) ?? null,
    userAgent: fields.get(FIELD.userAgent) ?? null,
    // None in a hash of an unbound session, or one written before sessions could be bound.
    binding: decodeBinding(fields.get(FIELD.binding)),
    data,
  };
}

/** Arguments of the data-change script: `[now, n, field, json, … (n pairs), removed field, …]`. */
export function dataChangeArguments(
  now: number,
  set: Record<string, JsonValue>,
  remove: readonly string[],
): string[] {
  const entries = Object.entries(set);
  const args = [String(now), String(entries.length)];
  for (const [key, value] of entries) args.push(DATA_PREFIX + key, JSON.stringify(value));
  for (const key of remove) args.push(DATA_PREFIX + key);
  return args;
}
