import type { JsonValue, SessionRecord } from '../../core/store.js';

/**
 * A deep copy of a record, so neither the caller's object nor the one handed back can
 * reach the store's own state (express-session's MemoryStore hands out shared objects).
 * `structuredClone` keeps an own `__proto__` key an own key, unlike spreading. `methods` is
 * the other array in a record: each copy gets its own.
 */
export function copyRecord(record: SessionRecord): SessionRecord {
  const methods = [...record.methods];
  // Most sessions carry no data: skip the clone (about 1 µs) on the per-request read.
  for (const _ in record.data) return { ...record, methods, data: structuredClone(record.data) };
  return { ...record, methods, data: {} };
}

/**
 * Writes `key` as an own data property. Plain assignment would treat a session-data key
 * named `__proto__` as a prototype change; keys come from application code, so keep them inert.
 */
export function setOwn(target: Record<string, JsonValue>, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
