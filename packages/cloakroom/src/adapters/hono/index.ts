import type { Context, MiddlewareHandler } from 'hono';
import type { UserStore } from '../../auth/types.js';
import { toUser, type User } from '../../auth/users.js';
import { StoreError } from '../../core/errors.js';
import { fromWebRequest, type IncomingRequest, isSafeMethod } from '../../core/request.js';
import type { Session } from '../../core/session.js';
import type { CreateOptions, Issued, Sessions } from '../../core/sessions.js';
import { accountRefusal, type NoUserReason, withEpoch } from '../shared/auth-state.js';
import { isFormContentType } from '../shared/csrf-token.js';
import { loginCsrfRefusal, needsLoginToken } from '../shared/login-csrf.js';
import { type Refusal, refusalBody, UNAVAILABLE_BODY } from '../shared/refusal.js';

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
   * Default `true`. Turn it off only where something else already sets it on every answer
   * (the cloakroom server does): adding a header after the handler makes Hono rebuild the
   * response, a measurable cost on the per-request path. Answers that set a cookie are
   * always `no-store`.
   */
  noStore?: boolean;
}

export type { Refusal };

function defaultRemote(c: Context): string | null {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? null;
}

function cookieNameOf(setCookie: string): string {
  return setCookie.slice(0, setCookie.indexOf('='));
}

/**
 * The Hono adapter: a middleware that validates the session cookie, guards, and helpers to
 * sign in and out from a handler.
 * @example
 * const auth = createHonoAuth({ sessions, users });
 * const app = new Hono<CloakroomEnv>();
 * app.use(auth.middleware);
 * app.get('/admin', auth.requireRole('admin'), (c) => c.text(`hello ${c.get('user')!.displayName}`));
 */
export function createHonoAuth(options: HonoAuthOptions) {
  const { sessions, users } = options;
  const trustProxy = options.trustProxy ?? false;
  const noStore = options.noStore ?? true;
  const remote = options.remoteAddress ?? defaultRemote;
  const unavailable = options.onUnavailable ?? ((c: Context) => c.json(UNAVAILABLE_BODY, 503));
  const refused = options.onRefused ?? ((c: Context, r: Refusal) => c.json(refusalBody(r), r.status));

  const queue = (c: Ctx, cookies: readonly string[]) => {
    for (const cookie of cookies) c.get('cloakroomCookies').set(cookieNameOf(cookie), cookie);
  };

  /** A new session replaces the request's: the user of the old one must not linger. */
  const takeOver = (c: Ctx, issued: Issued) => {
    queue(c, issued.setCookie);
    c.set('session', issued.session);
    const user = c.get('user');
    if (user && user.id !== issued.session.userId) c.set('user', null);
    c.set('authReason', null);
  };

  const middleware: MiddlewareHandler<CloakroomEnv> = async (c, next) => {
    const request = fromWebRequest(c.req.raw, { trustProxy, remoteAddress: remote(c) });
    c.set('cloakroomRequest', request);
    c.set('cloakroomCookies', new Map());
    c.set('session', null);
    c.set('user', null);
    try {
      const result = await sessions.validate(request);
      queue(c, result.setCookie);
      c.set('authReason', result.reason);
      if (result.session) {
        const record = users ? await users.getById(result.session.userId) : null;
        const refusal = users ? accountRefusal(result.session, record) : null;
        if (refusal) {
          c.set('authReason', refusal);
          if (refusal === 'stale') await sessions.end(result.session).catch(() => false);
        } else {
          c.set('session', result.session);
          c.set('user', record ? toUser(record) : null);
        }
      }
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
    if (cookies.size > 0) {
      for (const cookie of cookies.values()) c.header('Set-Cookie', cookie, { append: true });
      // A response that sets a session cookie must never be stored by a shared cache.
      c.header('Cache-Control', 'no-store');
    } else if (signedIn && !c.res.headers.has('cache-control')) {
      // Nor one to a signed-in request (personal data, a CSRF token), unless the handler chose.
      c.header('Cache-Control', 'no-store');
    }
  };

  /** Refuses with 401 unless a user is signed in. */
  const requireUser = (): MiddlewareHandler<CloakroomEnv> => async (c, next) => {
    if (!c.get('session') || (users && !c.get('user')))
      return refused(c, { status: 401, error: 'unauthenticated' });
    await next();
  };

  /** Refuses with 401 when signed out and 403 without `role`. Roles are read fresh on every request. */
  const requireRole =
    (role: string): MiddlewareHandler<CloakroomEnv> =>
    async (c, next) => {
      const user = c.get('user');
      if (!c.get('session') || !user) return refused(c, { status: 401, error: 'unauthenticated' });
      if (!user.roles.includes(role)) return refused(c, { status: 403, error: 'forbidden', role });
      await next();
    };

  /**
   * CSRF protection for unsafe methods: the origin gate first, then a valid token from the
   * `X-CSRF-Token` header or (for HTML forms only) the `_csrf` body field. Never from the query
   * string. Requests without a session only pass through the origin gate.
   */
  const csrf = (): MiddlewareHandler<CloakroomEnv> => async (c, next) => {
    const request = c.get('cloakroomRequest');
    if (isSafeMethod(request.method)) return next();
    const session = c.get('session');
    const refusal = session
      ? sessions.checkCsrf(request, session, await submittedToken(c))
      : sessions.checkOrigin(request);
    if (refusal) return refused(c, { status: 403, error: 'csrf', reason: refusal });
    await next();
  };

  /**
   * Login CSRF for the sign-in route (before `csrf()`): the origin gate always, and for any body
   * but JSON the login token of `loginToken(c)`, from `_csrf` of a form or `X-CSRF-Token`.
   */
  const loginCsrf = (): MiddlewareHandler<CloakroomEnv> => async (c, next) => {
    const request = c.get('cloakroomRequest');
    const token = needsLoginToken(request.headers.get('content-type')) ? await submittedToken(c) : null;
    const refusal = loginCsrfRefusal(sessions, request, token);
    if (refusal) return refused(c, refusal);
    await next();
  };

  return {
    middleware,
    requireUser,
    requireRole,
    csrf,
    loginCsrf,
    /** A login token for the sign-in form; queues its nonce cookie if needed, and `no-store`. */
    loginToken(c: Ctx): string {
      const { token, setCookie } = sessions.issueLoginToken(c.get('cloakroomRequest'));
      queue(c, setCookie);
      c.header('Cache-Control', 'no-store');
      return token;
    },
    /** A fresh masked CSRF token for the signed-in client, or `null` when signed out. */
    csrfToken(c: Ctx): string | null {
      const session = c.get('session');
      return session ? sessions.csrfToken(session) : null;
    },
    /** Starts a fresh session for `userId` (the request's old one is destroyed) and sets the cookie. */
    async startSession(c: Ctx, create: CreateOptions): Promise<Issued> {
      const issued = await sessions.create(c.get('cloakroomRequest'), await withEpoch(users, create));
      takeOver(c, issued);
      return issued;
    },
    /** Takes over a session issued elsewhere (e.g. by `signIn` of `cloakroom`). */
    adopt(c: Ctx, issued: Issued): void {
      takeOver(c, issued);
    },
    /** Ends the request's session server-side and clears the cookie. */
    async endSession(c: Ctx): Promise<boolean> {
      const { destroyed, setCookie } = await sessions.destroy(c.get('cloakroomRequest'));
      queue(c, setCookie);
      c.set('session', null);
      c.set('user', null);
      return destroyed;
    },
    /** New ticket for the same sign-in (after a privilege change). */
    async rotate(c: Ctx): Promise<Issued> {
      const session = c.get('session');
      if (!session) throw new TypeError('rotate: no session on this request');
      const issued = await sessions.rotate(c.get('cloakroomRequest'), session);
      queue(c, issued.setCookie);
      c.set('session', issued.session);
      return issued;
    },
    /** Queues extra Set-Cookie values (e.g. the login CSRF nonce). */
    setCookies(c: Ctx, cookies: readonly string[]): void {
      queue(c, cookies);
    },
  };
}

/** The adapter instance type. */
export type HonoAuth = ReturnType<typeof createHonoAuth>;

async function submittedToken(c: Ctx): Promise<string | null> {
  const header = c.req.header('x-csrf-token');
  if (header) return header;
  if (!isFormContentType(c.req.header('content-type'))) return null;
  try {
    const body = await c.req.parseBody();
    const value = body._csrf;
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}

export type { NoUserReason, Session, User };
