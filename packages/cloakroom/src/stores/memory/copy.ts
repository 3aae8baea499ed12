import {
  decodeBinding,
  encodeBinding,
  type JsonValue,
  type SessionBinding,
  type SessionRecord,
} from '../../core/store.js';

/**
 * A deep copy of a record, so neither the caller's object nor the one handed back can
 * reach the store's own state (express-session's MemoryStore hands out shared objects).
 * `structuredClone` keeps an own `__proto__` key an own key, unlike spreading. `methods` is
 * the other array in a record: each copy gets its own, and so does the binding (see
 * {@link copyBinding}: the record must hold a canonical one, as {@link canonicalBinding} makes).
 */
export function copyRecord(record: SessionRecord): SessionRecord {
  const methods = [...record.methods];
  const binding = copyBinding(record.binding);
  // Most sessions carry no data: skip the clone (about 1 µs) on the per-request read.
  for (const _ in record.data) return { ...record, methods, binding, data: structuredClone(record.data) };
  return { ...record, methods, binding, data: {} };
}

/**
 * A copy of a canonical binding (one {@link canonicalBinding} made, or one decoded from its
 * text): its members are primitives but for `jwk`, whose are too, so two levels of spread copy
 * it whole, for less than a JSON round trip on the per-request read.
 */
export function copyBinding(binding: SessionBinding | null | undefined): SessionBinding | null {
  return binding === null || binding === undefined ? null : { ...binding, jwk: { ...binding.jwk } };
}

/**
 * The binding as the other stores keep it: the members of `encodeBinding` and nothing else (a
 * stray member, say a private `d` in the JWK, is not kept), in a fresh object. `null` for none,
 * also for a record from a caller that predates the field.
 */
export function canonicalBinding(binding: SessionBinding | null | undefined): SessionBinding | null {
  return binding === null || binding === undefined ? null : decodeBinding(encodeBinding(binding));
}

/**
 * Writes `key` as an own data property. Plain assignment would treat a session-data key
 * named `__proto__` as a prototype change; keys come from application code, so keep them inert.
 */
export function setOwn(target: Record<string, JsonValue>, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
