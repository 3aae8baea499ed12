import type { Context, MiddlewareHandler } from 'hono';
import type { UserStore } from '../../auth/types.js';
import type { User } from '../../auth/users.js';
import type { DbscAnswer, DbscEvent } from '../../core/dbsc.js';
import type { Duration } from '../../core/duration.js';
import { StoreError } from '../../core/errors.js';
import {
  type FromWebRequestOptions,
  fromWebRequest,
  type IncomingRequest,
  isSafeMethod,
} from '../../core/request.js';
import type { Session } from '../../core/session.js';
import type { CreateOptions, Issued, ReauthenticateOptions, Sessions } from '../../core/sessions.js';
import type { NoUserReason } from '../shared/auth-state.js';
import { isFormContentType } from '../shared/csrf-token.js';
import { type Binding, createEngine } from '../shared/engine.js';
import { needsLoginToken } from '../shared/login-csrf.js';
import { recentAuthWindow } from '../shared/recent-auth.js';
import { type Refusal, refusalBody, UNAVAILABLE_BODY } from '../shared/refusal.js';
import { cookieNameOf } from '../shared/set-cookie.js';

/** What the middleware puts on the Hono context. */
export interface CloakroomVariables {
  /** The validated session, or `null`. */
  session: Session | null;
  /** The signed-in user (loaded fresh on every request), or `null`. */
  user: User | null;
  /** Why there is no user, or `null` when there is one. */
  authReason: NoUserReason | null;
  /** The request as the core sees it (https, host, ip already decided). */
  cloakroomRequest: IncomingRequest;
  /** Set-Cookie values to append to the response, by cookie name. */
  cloakroomCookies: Map<string, string>;
}

/** Use as `new Hono<CloakroomEnv>()` (or intersect with your own Env). */
export type CloakroomEnv = { Variables: CloakroomVariables };
type Ctx = Context<CloakroomEnv>;

export interface HonoAuthOptions {
  sessions: Sessions;
  /** Loads the user on every request, so role changes and locks apply at once. */
  users?: UserStore;
  /** Honour X-Forwarded-Proto/-Host/-For. Only behind a proxy you control. Default `false`. */
  trustProxy?: boolean;
  /** The connection's peer address. Default: `@hono/node-server`'s `incoming.socket`. */
  remoteAddress?: (c: Context) => string | null;
  /**
   * Answer when the store is down: in the middleware, and for a `StoreError` a helper or handler
   * throws later (it replaces `app.onError`'s answer, unless that is a 503 already). Default:
   * `503 {"error":"unavailable"}`.
   */
  onUnavailable?: (c: Context, error: StoreError) => Response | Promise<Response>;
  /** Answer when a guard refuses. Default: the JSON errors of docs/api.md (401/403). */
  onRefused?: (c: Context, refusal: Refusal) => Response | Promise<Response>;
  /**
   * `Cache-Control: no-store` on every answer to a signed-in request that has none of its own.
   * Default `true`; it costs nothing measurable (the header is set on the finished response in
   * place). Answers that set a cookie are always `no-store`.
   */
  noStore?: boolean;
  /**
   * Called with what each device-bound-session registration or refresh did (for audit logs and
   * metrics); never with a token, key or challenge. Only with `createSessions({ dbsc })`.
   */
  onDbsc?: (event: DbscEvent) => void;
}

export type { Refusal };

/** A DBSC answer as a Web Response. */
function dbscResponse(answer: DbscAnswer): Response {
  const headers = new Headers(answer.headers);
  for (const cookie of answer.setCookie) headers.append('Set-Cookie', cookie);
  return new Response(answer.body, { status: answer.status, headers });
}

function defaultRemote(c: Context): string | null {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? null;
}

/**
 * The state lives in the context's variables; the cookie queue is `cloakroomCookies`, keyed by
 * name so the last value wins, and written once, after the handler (see the middleware).
 */
const binding: Binding<Ctx, Ctx> = {
  attach(c, _request, session, user, reason) {
    c.set('session', session);
    c.set('user', user);
    c.set('authReason', reason);
    return c;
  },
  request: (c) => c.get('cloakroomRequest'),
  session: (c) => c.get('session'),
  user: (c) => c.get('user'),
  adopted(c, session, user) {
    c.set('session', session);
    c.set('user', user);
    c.set('authReason', null);
  },
  ended(c) {
    c.set('session', null);
    c.set('user', null);
  },
  setCookies(c, cookies) {
    const queue = c.get('cloakroomCookies');
    for (const cookie of cookies) queue.set(cookieNameOf(cookie), cookie);
  },
  noStore: (c) => c.header('Cache-Control', 'no-store'),
  setHeader: (c, name, value) => c.header(name, value),
};

/**
 * The headers cloakroom adds once the handler has answered: the queued cookies, and `no-store` on
 * an answer that sets one (a response that sets a session cookie must never be stored by a shared
 * cache) or that answers a signed-in request (personal data, a CSRF token) unless the handler
 * chose its own `Cache-Control`.
 */
function finish(headers: Headers, cookies: Map<string, string>, signedIn: boolean): void {
  if (cookies.size > 0) {
    for (const cookie of cookies.values()) headers.append('Set-Cookie', cookie);
    headers.set('Cache-Control', 'no-store');
  } else if (signedIn && !headers.has('cache-control')) {
    headers.set('Cache-Control', 'no-store');
  }
}

/**
 * The parsed form a CSRF token may come from: only without `X-CSRF-Token`, and only for a form
 * content type. `all: true` keeps a repeated `_csrf` as a list (no token); Hono caches the raw
 * body, so the application's own `parseBody()` still works.
 */
async function formBody(c: Ctx): Promise<unknown> {
  if (c.req.header('x-csrf-token') || !isFormContentType(c.req.header('content-type'))) return undefined;
  return c.req.parseBody({ all: true }).catch(() => undefined);
}

/**
 * The Hono adapter, a binding of the shared engine (`shared/engine.ts`): a middleware that
 * validates the session cookie, guards, and helpers to sign in and out from a handler.
 * @example
 * const auth = createHonoAuth({ sessions, users });
 * const app = new Hono<CloakroomEnv>();
 * app.use(auth.middleware);
 * app.get('/admin', auth.requireRole('admin'), (c) => c.text(`hello ${c.get('user')!.displayName}`));
 */
export function createHonoAuth(options: HonoAuthOptions) {
  const engine = createEngine(options, binding);
  const noStore = options.noStore ?? true;
  const remote = options.remoteAddress ?? defaultRemote;
  const unavailable = options.onUnavailable ?? ((c: Context) => c.json(UNAVAILABLE_BODY, 503));
  const refused = options.onRefused ?? ((c: Context, r: Refusal) => c.json(refusalBody(r), r.status));
  // One options object, refilled per request: fromWebRequest reads it at once and keeps nothing.
  const from: FromWebRequestOptions = { trustProxy: options.trustProxy ?? false, remoteAddress: null };
  const dbscOn = options.sessions.dbsc !== null;

  const guard =
    (decide: (c: Ctx) => Refusal | null): MiddlewareHandler<CloakroomEnv> =>
    async (c, next) => {
      const refusal = decide(c);
      if (refusal) return refused(c, refusal);
      await next();
    };

  const middleware: MiddlewareHandler<CloakroomEnv> = async (c, next) => {
    from.remoteAddress = remote(c);
    const request = fromWebRequest(c.req.raw, from);
    c.set('cloakroomRequest', request);
    c.set('cloakroomCookies', new Map());
    c.set('session', null);
    c.set('user', null);
    // With device-bound sessions on, their two endpoints are answered here, before validation:
    // a refresh comes exactly when the bound cookie is missing.
    const endpoint =
      dbscOn && request.method === 'POST' ? engine.dbscEndpoint(request.method, c.req.path) : null;
    try {
      if (endpoint) return dbscResponse(await engine.answerDbsc(request, endpoint));
      await engine.authenticate(c, request);
    } catch (error) {
      if (error instanceof StoreError) return unavailable(c, error);
      throw error;
    }
    const signedIn = noStore && c.get('session') !== null;
    await next();
    // Hono's compose has already turned a handler's throw into `app.onError`'s answer (a 500 by
    // default). A store failure mid-request is a 503, so sign-out never answers anything else;
    // an onError that already made it a 503 (and counted it) keeps its answer.
    if (c.error instanceof StoreError && c.res.status !== 503) c.res = await unavailable(c, c.error);
    const cookies = c.get('cloakroomCookies');
    if (cookies.size === 0 && !signedIn) return;
    // The headers are changed on the finished response in place. `c.header()` would rebuild the
    // response first (a new Response around the old body), which on @hono/node-server also loses
    // its fast path for string bodies: ~100 µs per request. A response whose headers are immutable
    // (one `fetch` returned, passed through) is rebuilt, as there is no other way.
    try {
      finish(c.res.headers, cookies, signedIn);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      c.res = new Response(c.res.body, c.res);
      finish(c.res.headers, cookies, signedIn);
    }
  };

  return {
    middleware,
    /** Refuses with 401 unless a user is signed in. */
    requireUser: (): MiddlewareHandler<CloakroomEnv> => guard((c) => engine.requireUser(c)),
    /** Refuses with 401 when signed out and 403 without `role`. Roles are read fresh on every request. */
    requireRole: (role: string): MiddlewareHandler<CloakroomEnv> => guard((c) => engine.requireRole(c, role)),
    /**
     * Refuses with 401 when signed out and 403 `reauth_required` when the last proof of a factor
     * (sign-in or `reauthenticate`) is `maxAge` old or older. `maxAge` (`'5m'`, seconds) is
     * parsed here, once: a bad one throws `ConfigError`. Default: the sessions' `reauthWindow`.
     */
    requireRecentAuth: (maxAge?: Duration): MiddlewareHandler<CloakroomEnv> => {
      const maxAgeMs = recentAuthWindow(maxAge);
      return guard((c) => engine.requireRecentAuth(c, maxAgeMs));
    },
    /**
     * CSRF protection for unsafe methods: the origin gate first, then a valid token from the
     * `X-CSRF-Token` header or (for HTML forms only) the `_csrf` body field. Never from the query
     * string. Requests without a session only pass through the origin gate.
     */
    csrf: (): MiddlewareHandler<CloakroomEnv> => async (c, next) => {
      // Safe methods pass at once (mounted app-wide, this runs on every request); the form is
      // parsed only when a session's token is looked for.
      if (isSafeMethod(c.get('cloakroomRequest').method)) return next();
      const refusal = engine.csrf(c, c.get('session') ? await formBody(c) : undefined);
      if (refusal) return refused(c, refusal);
      await next();
    },
    /**
     * Login CSRF for the sign-in route (before `csrf()`): the origin gate always, and for any body
     * but JSON the login token of `loginToken(c)`, from `_csrf` of a form or `X-CSRF-Token`.
     */
    loginCsrf: (): MiddlewareHandler<CloakroomEnv> => async (c, next) => {
      const form = needsLoginToken(c.req.header('content-type')) ? await formBody(c) : undefined;
      const refusal = engine.loginCsrf(c, form);
      if (refusal) return refused(c, refusal);
      await next();
    },
    /** A login token for the sign-in form; queues its nonce cookie if needed, and `no-store`. */
    loginToken(c: Ctx): string {
      return engine.loginToken(c, c);
    },
    /** A fresh masked CSRF token for the signed-in client, or `null` when signed out. */
    csrfToken(c: Ctx): string | null {
      return engine.csrfToken(c);
    },
    /** Starts a fresh session for `userId` (the request's old one is destroyed) and sets the cookie. */
    async startSession(c: Ctx, create: CreateOptions): Promise<Issued> {
      return engine.startSession(c, c, create);
    },
    /** Takes over a session issued elsewhere (e.g. by `signIn` of `cloakroom`). */
    adopt(c: Ctx, issued: Issued): void {
      engine.adopt(c, c, issued);
    },
    /** Ends the request's session server-side and clears the cookie. */
    async endSession(c: Ctx): Promise<boolean> {
      return engine.endSession(c, c);
    },
    /** New ticket for the same sign-in (after a privilege change). */
    async rotate(c: Ctx): Promise<Issued> {
      return engine.rotate(c, c);
    },
    /**
     * After the user proved a factor again (you checked it): a new ticket whose `authenticatedAt`
     * is now, with a new CSRF secret; `methods` replaces the session's when given.
     */
    async reauthenticate(c: Ctx, options?: ReauthenticateOptions): Promise<Issued> {
      return engine.reauthenticate(c, c, options);
    },
    /** Queues extra Set-Cookie values (e.g. the login CSRF nonce). */
    setCookies(c: Ctx, cookies: readonly string[]): void {
      engine.setCookies(c, cookies);
    },
  };
}

/** The adapter instance type. */
export type HonoAuth = ReturnType<typeof createHonoAuth>;

export type { DbscEvent, NoUserReason, Session, User };
