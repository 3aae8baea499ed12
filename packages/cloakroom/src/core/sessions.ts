import { type Ceremonies, createCeremonies } from './ceremony.js';
import { findCookie, serializeCookie } from './cookie.js';
import { maskCsrfToken, newCsrfSecret, verifyCsrfToken } from './csrf.js';
import { createDeviceBinding, type DeviceBoundSessions, type LiveSession } from './dbsc.js';
import { StoreError, toStoreError } from './errors.js';
import { createLoginCsrf, type LoginCsrf } from './login-csrf.js';
import { type ResolvedOptions, resolveOptions, type SessionsOptions } from './options.js';
import { checkOrigin, type OriginRefusal } from './origin.js';
import { checkMethods, createPendingSignIns, type PendingSignIns } from './pending.js';
import { type IncomingRequest, isSafeMethod } from './request.js';
import {
  internalsOf,
  type NoSessionReason,
  type Session,
  type SessionInfo,
  toSession,
  toSessionInfo,
} from './session.js';
import type { DataChange, JsonValue, SessionRecord } from './store.js';
import { isPublicId, newToken, parseCookieValue, publicIdOf, signToken, storeKeyOf } from './token.js';
import { createVerifiedSignatures } from './verified-signatures.js';

/** The outcome of {@link Sessions.validate}: a session, or no session and why. */
export type Validation =
  | { session: Session; reason: null; setCookie: string[] }
  | { session: null; reason: NoSessionReason; setCookie: string[] };

/** A session just issued, with the cookie to send and a CSRF token for the client. */
export interface Issued {
  session: Session;
  setCookie: string[];
  csrfToken: string;
  /**
   * Other headers the answer must carry: after sign-in with device-bound sessions on, the
   * registration offer (`Secure-Session-Registration`). The adapters send them.
   */
  headers?: Readonly<Record<string, string>>;
}

/** Why an unsafe request failed the CSRF check. */
export type CsrfRefusal = OriginRefusal | 'missing-token' | 'bad-token';

/** Options of {@link Sessions.create}. */
export interface CreateOptions {
  userId: string;
  /** "Remember me": a persistent cookie and the longer remember timeouts. Default `false`. */
  remember?: boolean;
  /**
   * The user's credential epoch as read *before* the credential was checked (`UserRecord.epoch`).
   * A change that advances the epoch while this sign-in is in flight leaves the new session dead
   * on its first request. Default `0`.
   */
  epoch?: number;
  /**
   * How the user proved who they are, as RFC 8176 names (`pwd`, `otp`, `hwk`): forward auth
   * reports them and `?mfa=1` checks them. Default `[]` (nothing claimed).
   */
  methods?: readonly string[];
  data?: Record<string, JsonValue>;
}

/** Options of {@link Sessions.rotate}. */
export interface RotateOptions {
  /** The user's new credential epoch, for a rotation that follows the user's own credential change. */
  epoch?: number;
  /**
   * Keep the CSRF secret, so CSRF tokens the client already holds stay valid: for a rotation that
   * is no privilege change (after "sign out everywhere else"). Default `false`: a new secret.
   */
  keepCsrfSecret?: boolean;
}

/** Options of {@link Sessions.reauthenticate}. */
export interface ReauthenticateOptions {
  /** The methods of the new proof; default: the session's own. */
  methods?: readonly string[];
}

/** The session core. Created once with {@link createSessions}; every method is per request. */
export interface Sessions extends LoginCsrf, PendingSignIns, Ceremonies {
  /** Reads the request's cookie: signature first, then the store, then the deadlines. */
  validate(request: IncomingRequest): Promise<Validation>;
  /** Signs in: a fresh session; whatever session the request came with is destroyed first. */
  create(request: IncomingRequest, options: CreateOptions): Promise<Issued>;
  /** Signs out: deletes the request's session server-side and clears the cookie. */
  destroy(request: IncomingRequest): Promise<{ destroyed: boolean; setCookie: string[] }>;
  /** New token and CSRF secret for the same sign-in (after a privilege change). */
  rotate(request: IncomingRequest, session: Session, options?: RotateOptions): Promise<Issued>;
  /**
   * After the user proved a factor again (their password, a code): a new ticket for the same
   * sign-in whose `authenticatedAt` is now, with a new CSRF secret (a re-authentication is a
   * privilege change, so the old ticket ends). `methods` replaces the session's when given.
   */
  reauthenticate(
    request: IncomingRequest,
    session: Session,
    options?: ReauthenticateOptions,
  ): Promise<Issued>;
  /**
   * Whether the session's last proof of a factor is younger than `maxAgeMs` (default: the
   * `reauthWindow` option, 10 minutes). Sensitive actions ask this first.
   */
  isRecent(session: Session, maxAgeMs?: number): boolean;
  /** Ends this session server-side (no cookie to clear: for a session found stale). */
  end(session: Session): Promise<boolean>;
  /** Ends one of a user's sessions by public id; `false` if the user has no such session. */
  revoke(userId: string, publicId: string): Promise<boolean>;
  /** Ends every session of a user, optionally except one. Returns how many. */
  revokeUser(userId: string, options?: { except?: Session | null }): Promise<number>;
  /** A user's live sessions, `current` marking the one given. */
  list(userId: string, current?: Session | null): Promise<SessionInfo[]>;
  /** Changes per-session data key by key. `false` if the session is gone. */
  updateData(session: Session, change: DataChange): Promise<boolean>;
  /** A fresh masked CSRF token for this session (differs on every call). */
  csrfToken(session: Session): string;
  /** Origin gate then token check for unsafe methods; `null` when the request may go on. */
  checkCsrf(request: IncomingRequest, session: Session, token: string | null | undefined): CsrfRefusal | null;
  /** Only the origin gate (used where there is no session, e.g. sign-in). */
  checkOrigin(request: IncomingRequest): OriginRefusal | null;
  /** The session cookie's name for this request (`__Host-cloakroom` over HTTPS). */
  cookieName(request: IncomingRequest): string;
  /**
   * Device-bound sessions (DBSC) when `dbsc` is on, else `null`: the registration and refresh
   * endpoints every adapter mounts.
   */
  readonly dbsc: DeviceBoundSessions | null;
  /** The resolved settings (durations in ms), for servers that show or log them. */
  readonly settings: Omit<ResolvedOptions, 'keyring' | 'store' | 'crypto'>;
}

/**
 * Creates the session core.
 * @example
 * const sessions = createSessions({ secrets: [process.env.SECRET!], store: createMemoryStore() });
 * const { session } = await sessions.validate(fromWebRequest(request));
 */
export function createSessions(options: SessionsOptions): Sessions {
  const o = resolveOptions(options);
  const { store, keyring, crypto, clock } = o;
  const verified = o.rememberVerified > 0 ? createVerifiedSignatures(o.rememberVerified) : undefined;

  const clear = (req: IncomingRequest) => [serializeCookie(o.cookie.variant(req.https), '', 0)];
  const cookieFor = (req: IncomingRequest, token: string, record: SessionRecord, now: number) =>
    serializeCookie(
      o.cookie.variant(req.https),
      signToken(token, keyring, crypto),
      record.remember ? (record.absoluteExpiresAt - now) / 1000 : undefined,
    );

  /** The store key of the request's cookie if its signature holds; no store access. */
  function signedStoreKey(req: IncomingRequest): string | null {
    const found = findCookie(req.headers.get('cookie'), o.cookie.variant(req.https).name);
    if (!('value' in found)) return null;
    const parsed = parseCookieValue(found.value, keyring, crypto, verified);
    return 'token' in parsed ? parsed.storeKey : null;
  }

  async function attempt<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw toStoreError(operation, error);
    }
  }

  async function issue(
    req: IncomingRequest,
    base: Omit<SessionRecord, 'id' | 'csrfSecret'>,
    csrfSecret?: string,
  ): Promise<Issued> {
    // A token collision is astronomically unlikely, but a store that reports one must never
    // make us overwrite someone else's session: retry once with a new token.
    for (let tries = 0; ; tries++) {
      const token = newToken(crypto);
      const record: SessionRecord = {
        ...base,
        id: storeKeyOf(token, crypto),
        csrfSecret: csrfSecret ?? newCsrfSecret(crypto),
      };
      try {
        await store.create(record);
      } catch (error) {
        if (error instanceof StoreError && error.code === 'conflict' && tries === 0) continue;
        throw toStoreError('create', error);
      }
      const session = toSession(record, token, dbsc !== null);
      return {
        session,
        // `lastSeenAt` is now, at creation and at rotation alike: a rotated "remember me" cookie
        // gets what is left of its sign-in, not a fresh lifetime.
        setCookie: [cookieFor(req, token, record, base.lastSeenAt)],
        csrfToken: maskCsrfToken(record.csrfSecret, crypto),
      };
    }
  }

  /** The request's session if its cookie is signed, its record exists and no deadline has passed. */
  async function readLive(req: IncomingRequest): Promise<LiveSession | null> {
    const storeKey = signedStoreKey(req);
    if (!storeKey) return null;
    const record = await attempt('get', () => store.get(storeKey));
    if (!record) return null;
    const now = clock.now();
    return now < record.absoluteExpiresAt && now < record.idleExpiresAt ? { record, storeKey } : null;
  }
  const dbsc = o.dbsc ? createDeviceBinding(o, o.dbsc, { readLive }) : null;

  const loginCsrf = createLoginCsrf(o);
  const pending = createPendingSignIns(o);
  const ceremonies = createCeremonies(o);

  /** Old ticket first, then the new one: there is never a moment where both are valid. */
  async function replace(
    req: IncomingRequest,
    session: Session,
    change: Partial<Pick<SessionRecord, 'epoch' | 'authenticatedAt' | 'methods'>>,
    keepCsrfSecret: boolean,
  ): Promise<Issued> {
    const { storeKey } = internalsOf(session);
    const record = await attempt('get', () => store.get(storeKey));
    if (!record) throw new StoreError('rotate: the session no longer exists', { code: 'conflict' });
    await attempt('delete', () => store.delete(storeKey));
    const now = clock.now();
    const { id: _id, csrfSecret, ...rest } = record;
    // createdAt and absoluteExpiresAt are copied verbatim: rotation never extends a sign-in.
    return issue(
      req,
      {
        ...rest,
        // A record from before these fields existed: its sign-in was its last proof.
        authenticatedAt: rest.authenticatedAt ?? rest.createdAt,
        methods: rest.methods ?? [],
        ...change,
        lastSeenAt: now,
        idleExpiresAt: Math.min(now + record.idleTimeoutMs, record.absoluteExpiresAt),
      },
      keepCsrfSecret ? csrfSecret : undefined,
    );
  }

  return {
    ...loginCsrf,
    ...pending,
    ...ceremonies,
    settings: o,
    dbsc,

    async validate(req) {
      const found = findCookie(req.headers.get('cookie'), o.cookie.variant(req.https).name);
      if ('missing' in found) return { session: null, reason: 'missing', setCookie: [] };
      if ('duplicate' in found) return { session: null, reason: 'malformed', setCookie: [] };
      const parsed = parseCookieValue(found.value, keyring, crypto, verified);
      if ('error' in parsed) return { session: null, reason: parsed.error, setCookie: clear(req) };

      const id = parsed.storeKey;
      // Inline rather than through attempt(): this read runs on every request, and the extra
      // closure and async frame are a measurable share of validate() on the memory store.
      let record: SessionRecord | null;
      try {
        record = await store.get(id);
      } catch (error) {
        throw toStoreError('get', error);
      }
      if (!record) return { session: null, reason: 'not-found', setCookie: clear(req) };
      const now = clock.now();
      const expired: NoSessionReason | null =
        now >= record.absoluteExpiresAt
          ? 'absolute-timeout'
          : now >= record.idleExpiresAt
            ? 'idle-timeout'
            : null;
      if (expired) {
        // The answer is "no session" whether or not this delete succeeds; the sweep is the backstop.
        store.delete(id).catch(() => {});
        return { session: null, reason: expired, setCookie: clear(req) };
      }
      // A device-bound session needs its bound cookie too: without it the request is refused as
      // if it had no session, but the session cookie stays (the browser refreshes and retries).
      if (dbsc && record.binding && !dbsc.provesDevice(req, record.binding))
        return { session: null, reason: 'device-unproven', setCookie: [] };
      const setCookie: string[] = [];
      if (now - record.lastSeenAt >= o.touchMs) {
        // Sliding renewal, written at most once per touch interval so reads stay reads.
        const idleExpiresAt = Math.min(now + record.idleTimeoutMs, record.absoluteExpiresAt);
        const alive = await attempt('touch', () => store.touch(id, now, idleExpiresAt));
        if (!alive) return { session: null, reason: 'not-found', setCookie: clear(req) };
        record.lastSeenAt = now;
        record.idleExpiresAt = idleExpiresAt;
        // A cookie signed by an older key is re-signed with the newest one at renewal.
        if (parsed.keyIndex > 0) setCookie.push(cookieFor(req, parsed.token, record, now));
      }
      return { session: toSession(record, parsed.token, dbsc !== null), reason: null, setCookie };
    },

    async create(req, { userId, remember = false, epoch = 0, methods = [], data = {} }) {
      if (typeof userId !== 'string' || userId === '')
        throw new TypeError('create: userId must be a non-empty string');
      if (!Number.isSafeInteger(epoch) || epoch < 0)
        throw new TypeError('create: epoch must be a whole number ≥ 0');
      checkMethods(methods, 'create');
      const previous = signedStoreKey(req);
      if (previous) await attempt('delete', () => store.delete(previous));
      const now = clock.now();
      const absoluteExpiresAt = now + (remember ? o.rememberMs : o.absoluteMs);
      const idleTimeoutMs = remember ? o.rememberIdleMs : o.idleMs;
      const userAgent = req.headers.get('user-agent');
      const issued = await issue(req, {
        userId,
        createdAt: now,
        lastSeenAt: now,
        idleExpiresAt: Math.min(now + idleTimeoutMs, absoluteExpiresAt),
        absoluteExpiresAt,
        idleTimeoutMs,
        remember,
        epoch,
        authenticatedAt: now,
        methods: [...methods],
        ip: req.ip,
        userAgent: userAgent ? userAgent.slice(0, 512) : null,
        data: checkedData(data, o.maxDataBytes),
        binding: null,
      });
      if (dbsc) issued.headers = dbsc.offer(req, internalsOf(issued.session).storeKey);
      return issued;
    },

    async destroy(req) {
      const id = signedStoreKey(req);
      const destroyed = id ? await attempt('delete', () => store.delete(id)) : false;
      const setCookie = clear(req);
      if (dbsc) setCookie.push(dbsc.clearBoundCookie(req));
      return { destroyed, setCookie };
    },

    async rotate(req, session, { epoch, keepCsrfSecret = false } = {}) {
      if (epoch !== undefined && (!Number.isSafeInteger(epoch) || epoch < 0))
        throw new TypeError('rotate: epoch must be a whole number ≥ 0');
      return replace(req, session, epoch === undefined ? {} : { epoch }, keepCsrfSecret);
    },

    async reauthenticate(req, session, { methods } = {}) {
      if (methods !== undefined) checkMethods(methods, 'reauthenticate');
      const change = { authenticatedAt: clock.now(), ...(methods ? { methods: [...methods] } : {}) };
      return replace(req, session, change, false);
    },

    isRecent(session, maxAgeMs = o.reauthMs) {
      return clock.now() - session.authenticatedAt < maxAgeMs;
    },

    async end(session) {
      const { storeKey } = internalsOf(session);
      return attempt('delete', () => store.delete(storeKey));
    },

    async revoke(userId, publicId) {
      // Nothing that is not a public id can name a session: no store round trip for it.
      if (!isPublicId(publicId)) return false;
      const records = await attempt('listByUser', () => store.listByUser(userId, clock.now()));
      const target = records.find((r) => publicIdOf(r.id) === publicId);
      return target ? attempt('delete', () => store.delete(target.id)) : false;
    },

    async revokeUser(userId, { except = null } = {}) {
      const keep = except ? internalsOf(except).storeKey : undefined;
      return attempt('deleteByUser', () => store.deleteByUser(userId, keep));
    },

    async list(userId, current = null) {
      const currentKey = current ? internalsOf(current).storeKey : null;
      const records = await attempt('listByUser', () => store.listByUser(userId, clock.now()));
      return records
        .map((r) => toSessionInfo(r, currentKey, dbsc !== null))
        .sort((a, b) => b.lastSeenAt - a.lastSeenAt);
    },

    async updateData(session, change) {
      const merged: Record<string, JsonValue> = { ...session.data, ...change.set };
      for (const key of change.remove ?? []) delete merged[key];
      checkedData(merged, o.maxDataBytes);
      return attempt('updateData', () => store.updateData(internalsOf(session).storeKey, change));
    },

    csrfToken(session) {
      return maskCsrfToken(internalsOf(session).csrfSecret, crypto);
    },

    checkCsrf(req, session, token) {
      if (isSafeMethod(req.method)) return null;
      const refusal = checkOrigin(req, o.trustedOrigins);
      if (refusal) return refusal;
      if (typeof token !== 'string' || token === '') return 'missing-token';
      return verifyCsrfToken(internalsOf(session).csrfSecret, token, crypto) ? null : 'bad-token';
    },

    checkOrigin(req) {
      return checkOrigin(req, o.trustedOrigins);
    },

    cookieName(req) {
      return o.cookie.variant(req.https).name;
    },
  };
}

/** Per-session data stays small: cookies carry nothing, and the store stays lean. */
function checkedData(data: Record<string, JsonValue>, maxBytes: number): Record<string, JsonValue> {
  const size = new TextEncoder().encode(JSON.stringify(data)).length;
  if (size > maxBytes)
    throw new RangeError(`session data is ${size} bytes; the limit (maxDataBytes) is ${maxBytes}`);
  return data;
}
