/** A JSON value that can live in per-session data. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * One session as the store keeps it. Times are milliseconds since the epoch (UTC).
 * The store never sees the token: `id` is SHA-256 of the token (base64url), so a dump of the
 * store yields no usable cookie. To the store `userId` is an opaque string.
 */
export interface SessionRecord {
  /** Store key: base64url SHA-256 of the token. Never a credential. */
  id: string;
  userId: string;
  createdAt: number;
  lastSeenAt: number;
  /** Sliding deadline; never later than `absoluteExpiresAt`. */
  idleExpiresAt: number;
  /** Fixed at creation; nothing extends it. */
  absoluteExpiresAt: number;
  /** The idle timeout this session slides by (a "remember me" session has a longer one). */
  idleTimeoutMs: number;
  /** Whether the cookie is persistent ("remember me"). */
  remember: boolean;
  /**
   * The user's credential epoch when this sign-in began: opaque to the store, compared by the
   * application with the user's current epoch on every request. A password change, a lock, an
   * admin reset and "sign out everywhere" advance the user's epoch, so a session created by a
   * sign-in that was in flight at that moment is dead on arrival. `0` when epochs are not used.
   */
  epoch: number;
  /**
   * When the user last proved a factor for this session (ms epoch): the sign-in, or a later
   * re-authentication. Not `createdAt`: a rotation keeps `createdAt` but a re-authentication moves
   * this. Sensitive actions ask for a recent one. A store written before this field existed
   * returns none: the core reads that as `createdAt`.
   */
  authenticatedAt: number;
  /**
   * How the user signed in, as RFC 8176 method names (`pwd` password, `otp` a one-time code,
   * `hwk` a hardware-bound key): what forward auth reports and `?mfa=1` checks. Opaque to the
   * store, kept in order. A store written before this field existed returns none: read as `[]`.
   */
  methods: string[];
  /** Per-session CSRF secret, base64url of 32 random bytes. */
  csrfSecret: string;
  /**
   * The device key this session is bound to (Device Bound Session Credentials), or `null` for a
   * session bound to nothing (every session until a browser registers a key). Stores keep it as
   * the text of {@link encodeBinding} and hand it back decoded; a store written before this field
   * existed returns none: read as `null`.
   */
  binding: SessionBinding | null;
  ip: string | null;
  userAgent: string | null;
  data: Record<string, JsonValue>;
}

/** The public half of a device key, as a JSON Web Key with nothing but its public members. */
export type BindingKey =
  | { kty: 'EC'; crv: 'P-256'; x: string; y: string }
  | { kty: 'RSA'; n: string; e: string };

/**
 * A session's binding to a key in the browser's device (DBSC). Times are ms since the epoch.
 */
export interface SessionBinding {
  /** The DBSC session identifier the browser names in `Sec-Secure-Session-Id` (random, base64url). */
  id: string;
  /** How the device signs its proofs. */
  alg: 'ES256' | 'RS256';
  /** The device's public key. */
  jwk: BindingKey;
  /** When the browser registered the key. */
  boundAt: number;
  /** When a bound cookie was last issued (registration or refresh). */
  refreshedAt: number;
  /** The one challenge the next refresh proof must sign, or `null` when none is out. */
  challenge: string | null;
  /** When `challenge` stops being accepted. */
  challengeExpiresAt: number;
}

/**
 * The canonical text of a binding: fixed key order, so two equal bindings give equal text and a
 * store can compare-and-set on the text alone (`SessionStore.bind`).
 */
export function encodeBinding(binding: SessionBinding): string {
  const { jwk } = binding;
  const key =
    jwk.kty === 'EC'
      ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
      : { kty: jwk.kty, n: jwk.n, e: jwk.e };
  return JSON.stringify({
    id: binding.id,
    alg: binding.alg,
    jwk: key,
    boundAt: binding.boundAt,
    refreshedAt: binding.refreshedAt,
    challenge: binding.challenge,
    challengeExpiresAt: binding.challengeExpiresAt,
  });
}

/** Texts decoded lately: a bound session's record is read on every request, its binding rarely changes. */
const decoded = new Map<string, SessionBinding>();
const DECODED_MAX = 1024;

/**
 * The binding of {@link encodeBinding}'s text (`null` for `null`: an unbound session), a fresh
 * object each call. A text seen lately is copied rather than parsed again (measured: ~1.5 µs of
 * JSON.parse per read of a bound session against ~0.2 µs for the copy).
 */
export function decodeBinding(text: string | null | undefined): SessionBinding | null {
  if (text === null || text === undefined || text === '') return null;
  let binding = decoded.get(text);
  if (binding === undefined) {
    binding = JSON.parse(text) as SessionBinding;
    if (decoded.size >= DECODED_MAX) decoded.clear();
    decoded.set(text, binding);
  }
  return { ...binding, jwk: { ...binding.jwk } };
}

/**
 * A change to per-session data, applied key by key so that two requests changing
 * different keys both keep their change. `set` writes keys; `remove` deletes keys.
 */
export interface DataChange {
  set?: Record<string, JsonValue>;
  remove?: string[];
}

/**
 * Where sessions live. Every method may throw a `StoreError` when the backend fails;
 * absence is `null` / `false` / `0`, never an exception. Every implementation passes the
 * conformance suite in `cloakroom/testing`.
 *
 * The store may keep an expired record until it is swept (and `get` may return it): the core
 * checks the deadlines itself on every read. But an expired record — `now >=
 * min(idleExpiresAt, absoluteExpiresAt)` on the store's clock — is dead for writes: `touch` and
 * `updateData` refuse it, `deleteByUser` does not count it. A store with its own TTL (Redis)
 * should expire a record at `min(idleExpiresAt, absoluteExpiresAt)`.
 */
export interface SessionStore {
  /** Required. The record with this id, or `null`. */
  get(id: string): Promise<SessionRecord | null>;
  /** Required. Inserts a new record; throws `StoreError` with code `conflict` if the id exists. */
  create(record: SessionRecord): Promise<void>;
  /**
   * Required. Moves `lastSeenAt` and `idleExpiresAt` forward (never back) on an existing,
   * unexpired record; writes nothing else. Returns `false` if the record is gone or expired: a
   * touch never recreates a deleted session nor extends an expired one not yet swept.
   */
  touch(id: string, lastSeenAt: number, idleExpiresAt: number): Promise<boolean>;
  /**
   * Required. Applies a data change key by key. Returns `false`, changing nothing, if the record
   * is gone or expired.
   */
  updateData(id: string, change: DataChange): Promise<boolean>;
  /** Required. Deletes one record. Returns whether it existed. */
  delete(id: string): Promise<boolean>;
  /**
   * Required. Deletes every record of a user, except `exceptId` if given (expired ones too).
   * Returns how many of them were live: expired unswept records are not counted as revoked.
   */
  deleteByUser(userId: string, exceptId?: string): Promise<number>;
  /** Required. Every unexpired record of a user (order unspecified). */
  listByUser(userId: string, now: number): Promise<SessionRecord[]>;
  /**
   * Optional; required for device-bound sessions (`createSessions({ dbsc })` refuses a store
   * without it). Replaces the record's binding with `next` only if the record is live (as for
   * `touch`) and its binding is still `expected` (`null`: unbound), compared as
   * {@link encodeBinding} text; writes nothing else. Returns whether it wrote: of many parallel
   * calls with the same `expected`, exactly one succeeds (registration once, each refresh
   * challenge once).
   */
  bind?(id: string, expected: SessionBinding | null, next: SessionBinding): Promise<boolean>;
  /** Optional. Removes up to `limit` records expired at `now`; returns how many. */
  sweep?(now: number, limit: number): Promise<number>;
  /** Optional. Resolves when the backend answers; rejects with `StoreError` otherwise (readiness). */
  ping?(): Promise<void>;
  /** Optional. Releases what the store opened itself. */
  close?(): Promise<void>;
}
