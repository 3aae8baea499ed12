import type { JsonValue, SessionRecord } from './store.js';
import { publicIdOf } from './token.js';

/** Why a request has no session. Bad input is a value, never an exception. */
export type NoSessionReason =
  | 'missing'
  | 'malformed'
  | 'bad-signature'
  | 'not-found'
  | 'idle-timeout'
  | 'absolute-timeout'
  /** A device-bound session without a valid bound cookie (the browser has not refreshed it). */
  | 'device-unproven';

/**
 * A validated session as the application sees it. `id` is the public id: safe to show and
 * log, never a credential. Times are milliseconds since the epoch (UTC).
 */
export interface Session {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly idleExpiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly remember: boolean;
  /** The user's credential epoch captured at sign-in (see `SessionRecord.epoch`). */
  readonly epoch: number;
  /** When the user last proved a factor: the sign-in or the latest re-authentication (ms epoch). */
  readonly authenticatedAt: number;
  /** How the user signed in (RFC 8176 names: `pwd`, `otp`, `hwk`), e.g. `['pwd', 'otp']`. */
  readonly methods: readonly string[];
  /**
   * Whether a browser bound this session to a device key (DBSC, with `dbsc` on): every request
   * of it then proved the device with a bound cookie.
   */
  readonly bound: boolean;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly data: Readonly<Record<string, JsonValue>>;
}

/** One entry of a user's session list. */
export interface SessionInfo {
  id: string;
  current: boolean;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  remember: boolean;
  /** The credential epoch its sign-in captured (a session behind its user's epoch is dead). */
  epoch: number;
  /** How the user signed in (RFC 8176 names). */
  methods: string[];
  /** Bound to a device key (DBSC, with `dbsc` on). */
  bound: boolean;
  ip: string | null;
  userAgent: string | null;
}

/** What the core keeps about a session it handed out, out of the application's reach. */
export interface SessionInternals {
  storeKey: string;
  csrfSecret: string;
  token: string;
}

/*
 * The internals ride on the session as a private class field: unreachable from outside this
 * module like a WeakMap entry, but without a WeakMap insert per request (measured ~0.8 µs,
 * plus ephemeron work for the garbage collector, against ~0.1 µs for the field).
 */
class ValidatedSession implements Session {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly idleExpiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly remember: boolean;
  readonly epoch: number;
  readonly authenticatedAt: number;
  readonly methods: readonly string[];
  readonly bound: boolean;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly data: Readonly<Record<string, JsonValue>>;
  readonly #internals: SessionInternals;

  constructor(record: SessionRecord, token: string, bindings: boolean) {
    this.id = publicIdOf(record.id);
    this.userId = record.userId;
    this.createdAt = record.createdAt;
    this.lastSeenAt = record.lastSeenAt;
    this.idleExpiresAt = record.idleExpiresAt;
    this.absoluteExpiresAt = record.absoluteExpiresAt;
    this.remember = record.remember;
    // A store written before epochs existed returns none: that is epoch 0 (its conformance suite
    // says to keep it).
    this.epoch = record.epoch ?? 0;
    // Likewise a record from before re-authentication existed: its proof was its sign-in, and
    // nothing is known of how that went.
    this.authenticatedAt = record.authenticatedAt ?? record.createdAt;
    this.methods = Object.freeze(record.methods ?? []);
    // A binding only counts while device-bound sessions are on: off, nothing enforces it.
    this.bound = bindings && record.binding != null;
    this.ip = record.ip;
    this.userAgent = record.userAgent;
    // Stores hand out fresh copies (a conformance rule), so the record's data can be frozen as is.
    this.data = Object.freeze(record.data);
    this.#internals = { storeKey: record.id, csrfSecret: record.csrfSecret, token };
    Object.freeze(this);
  }

  static internalsOf(session: Session): SessionInternals | undefined {
    return #internals in session ? (session as ValidatedSession).#internals : undefined;
  }
}

/** Builds the public view of a record and keeps its internals out of the application's reach. */
export function toSession(record: SessionRecord, token: string, bindings = false): Session {
  return new ValidatedSession(record, token, bindings);
}

/** The internals of a session this core created; throws on a look-alike object. */
export function internalsOf(session: Session): SessionInternals {
  const found =
    typeof session === 'object' && session !== null ? ValidatedSession.internalsOf(session) : undefined;
  if (!found) throw new TypeError('not a session returned by this cloakroom instance');
  return found;
}

/** The list entry for a record. */
export function toSessionInfo(
  record: SessionRecord,
  currentStoreKey: string | null,
  bindings = false,
): SessionInfo {
  return {
    id: publicIdOf(record.id),
    current: record.id === currentStoreKey,
    createdAt: record.createdAt,
    lastSeenAt: record.lastSeenAt,
    idleExpiresAt: record.idleExpiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
    remember: record.remember,
    epoch: record.epoch,
    methods: [...(record.methods ?? [])],
    bound: bindings && record.binding != null,
    ip: record.ip,
    userAgent: record.userAgent,
  };
}
