import type { UserStore } from '../../auth/types.js';
import type { User } from '../../auth/users.js';
import type { DbscAnswer, DbscEvent } from '../../core/dbsc.js';
import { type IncomingRequest, isSafeMethod } from '../../core/request.js';
import type { Session } from '../../core/session.js';
import type { CreateOptions, Issued, ReauthenticateOptions, Sessions } from '../../core/sessions.js';
import { type AuthState, type NoUserReason, resolve, type Settle, withEpoch } from './auth-state.js';
import { submittedToken } from './csrf-token.js';
import { loginCsrfRefusal } from './login-csrf.js';
import type { Refusal } from './refusal.js';

/**
 * What a framework binding gives the engine. `S` is the binding's handle on a request's auth
 * state (an {@link AuthState}, or Hono's context, whose variables hold it), `R` its handle on the
 * response (Express's `res`, Fastify's `reply`, Hono's context again). A binding is made once
 * per adapter, so the engine adds no object to a request.
 */
export interface Binding<S, R> {
  /**
   * Keeps a validated request's state where the binding's users read it, and returns the handle
   * on it. For a signed-in request it may also mark the answer `no-store` (see `createEngine`).
   */
  attach(
    res: R,
    request: IncomingRequest,
    session: Session | null,
    user: User | null,
    reason: NoUserReason | null,
  ): S;
  request(state: S): IncomingRequest;
  session(state: S): Session | null;
  user(state: S): User | null;
  /** A new session on the request (sign-in, rotation), with the user that may stay on it. */
  adopted(state: S, session: Session, user: User | null): void;
  /** Sign-out: no session and no user from here on. */
  ended(state: S): void;
  /**
   * Adds Set-Cookie values to the answer, the last value per cookie name winning, and makes it
   * `Cache-Control: no-store`. Each binding keeps one list per request that its framework writes
   * once (a response's `Set-Cookie` header, or Hono's queue written after the handler).
   */
  setCookies(res: R, cookies: readonly string[]): void;
  /** `Cache-Control: no-store` on the answer. */
  noStore(res: R): void;
  /** Sets one response header (the DBSC registration offer after sign-in). */
  setHeader(res: R, name: string, value: string): void;
}

/** The state accessors of a binding whose handle is a plain {@link AuthState}. */
export const authStateAccess: Pick<
  Binding<AuthState, unknown>,
  'request' | 'session' | 'user' | 'adopted' | 'ended'
> = {
  request: (state) => state.request,
  session: (state) => state.session,
  user: (state) => state.user,
  adopted(state, session, user) {
    state.session = session;
    state.user = user;
    state.reason = null;
  },
  ended(state) {
    state.session = null;
    state.user = null;
  },
};

export interface EngineOptions {
  sessions: Sessions;
  /** Loads the user on every request, so role changes and locks apply at once. */
  users?: UserStore | undefined;
  /**
   * Called with what each device-bound-session registration or refresh did (audit it, count it);
   * never with a token, key or challenge. Only with `createSessions({ dbsc })`.
   */
  onDbsc?: ((event: DbscEvent) => void) | undefined;
}

/** Which DBSC endpoint a request is for, if any. */
export type DbscEndpoint = 'register' | 'refresh';

/**
 * One request-auth engine for every adapter: it decides, the binding reads and writes its
 * framework. Refusals are returned, never sent: each binding answers them its own way
 * (`onRefused`, a return value). Store failures are thrown as `StoreError`, to be answered with
 * `onUnavailable` (503) wherever the framework catches them.
 */
export interface Engine<S, R> {
  /**
   * Validates the session cookie and loads the user, then attaches the state and queues the
   * Set-Cookie values validation produced (a clearing cookie, a re-signed one). Throws
   * `StoreError` before anything is written, so a 503 carries no cookie.
   */
  authenticate(res: R, request: IncomingRequest): Promise<S>;
  /** `requireUser`: 401 unless signed in (and, with a user store, the user exists and is unlocked). */
  requireUser(state: S): Refusal | null;
  /** `requireRole`: 401 when signed out, 403 without `role`. Roles are read fresh on every request. */
  requireRole(state: S, role: string): Refusal | null;
  /**
   * `requireRecentAuth`: 401 as `requireUser` when signed out; 403 `reauth_required` when the
   * session's last proof of a factor is `maxAgeMs` old or older (`undefined`: the sessions'
   * `reauthWindow`). The window is parsed where the guard is made, never here.
   */
  requireRecentAuth(state: S, maxAgeMs: number | undefined): Refusal | null;
  /**
   * `csrf`: safe methods pass; with a session, the origin gate then the token (`X-CSRF-Token`,
   * or `_csrf` of the parsed form `body`); without one, only the origin gate (there is no secret
   * to check a token against). `body` is only read when a token is looked for.
   */
  csrf(state: S, body: unknown): Refusal | null;
  /** `csrf` with a token the caller found itself (`null`: none). */
  checkCsrf(state: S, token: string | null): Refusal | null;
  /** `loginCsrf`: the origin gate, and the login token for any body but JSON (see `login-csrf.ts`). */
  loginCsrf(state: S, body: unknown): Refusal | null;
  /** A login token for the sign-in form; queues its nonce cookie if needed, and `no-store`. */
  loginToken(state: S, res: R): string;
  /** A fresh masked CSRF token for the signed-in client, or `null` when signed out. */
  csrfToken(state: S): string | null;
  /** Starts a fresh session (the request's old one is destroyed) and takes it over. */
  startSession(state: S, res: R, create: CreateOptions): Promise<Issued>;
  /** Takes over a session issued elsewhere (`signIn`, an account action): see {@link Binding.adopted}. */
  adopt(state: S, res: R, issued: Issued): void;
  /** Ends the request's session server-side and clears the cookie; `true` if there was one. */
  endSession(state: S, res: R): Promise<boolean>;
  /** New ticket for the same sign-in (after a privilege change). */
  rotate(state: S, res: R): Promise<Issued>;
  /**
   * After the user proved a factor again (checked by the caller): a new ticket whose
   * `authenticatedAt` is now, with a new CSRF secret, taken over like `rotate`'s.
   */
  reauthenticate(state: S, res: R, options?: ReauthenticateOptions): Promise<Issued>;
  /** Queues other Set-Cookie values (e.g. the login nonce) under the same last-wins rule. */
  setCookies(res: R, cookies: readonly string[]): void;
  /**
   * The DBSC endpoint a `POST` to `path` is for, or `null` (always `null` with `dbsc` off). The
   * adapters answer these before validating the session: a refresh comes exactly when the
   * request's bound cookie is missing.
   */
  dbscEndpoint(method: string, path: string): DbscEndpoint | null;
  /**
   * The answer to a DBSC registration or refresh, reported to `onDbsc`. Throws `StoreError` when
   * the store is down.
   */
  answerDbsc(request: IncomingRequest, endpoint: DbscEndpoint): Promise<DbscAnswer>;
}

/**
 * Builds the engine over a binding. Caching (RFC 9111 §5.2.2.5, `no-store`): every answer that
 * sets a cookie is `no-store` (`setCookies`); an answer to a signed-in request may carry personal
 * data or a CSRF token, so bindings mark it too in `attach` (or, for Hono, after the handler),
 * leaving a `Cache-Control` the handler sets itself in place (docs/adapters.md, "Caching").
 */
export function createEngine<S, R>(options: EngineOptions, binding: Binding<S, R>): Engine<S, R> {
  const { sessions, users } = options;
  const b = binding;

  // Runs once validation and the user read succeeded; made once, so a request allocates no closure.
  const settle: Settle<R, S> = (res, request, session, user, reason, setCookie) => {
    const state = b.attach(res, request, session, user, reason);
    if (setCookie.length > 0) b.setCookies(res, setCookie);
    return state;
  };

  /**
   * A new session replaces the request's. The user loaded on the way in belonged to the previous
   * session: if the new one is someone else's (a sign-in over a planted or shared cookie), that
   * user must not stay on the request, or code after the sign-in would act for the wrong
   * account. The new user is not loaded here; `signIn` returns it.
   */
  const takeOver = (state: S, res: R, issued: Issued): void => {
    b.setCookies(res, issued.setCookie);
    if (issued.headers)
      for (const [name, value] of Object.entries(issued.headers)) b.setHeader(res, name, value);
    const user = b.user(state);
    b.adopted(state, issued.session, user && user.id !== issued.session.userId ? null : user);
  };

  /** The token is `token`, or when that is `undefined` the one the request presents (`body` for forms). */
  const csrf = (state: S, body: unknown, token: string | null | undefined): Refusal | null => {
    const request = b.request(state);
    if (isSafeMethod(request.method)) return null;
    const session = b.session(state);
    const reason = session
      ? sessions.checkCsrf(
          request,
          session,
          token === undefined ? submittedToken(request.headers, body) : token,
        )
      : sessions.checkOrigin(request);
    return reason ? { status: 403, error: 'csrf', reason } : null;
  };

  /** Signed in, and (with a user store) the user exists and is unlocked. */
  const signedIn = (state: S): boolean => b.session(state) !== null && (!users || b.user(state) !== null);

  return {
    authenticate: (res, request) => resolve(sessions, users, request, res, settle),
    requireUser: (state) => (signedIn(state) ? null : { status: 401, error: 'unauthenticated' }),
    requireRole(state, role) {
      const user = b.user(state);
      if (!b.session(state) || !user) return { status: 401, error: 'unauthenticated' };
      return user.roles.includes(role) ? null : { status: 403, error: 'forbidden', role };
    },
    requireRecentAuth(state, maxAgeMs = sessions.settings.reauthMs) {
      const session = b.session(state);
      if (!session || !signedIn(state)) return { status: 401, error: 'unauthenticated' };
      return sessions.isRecent(session, maxAgeMs)
        ? null
        : { status: 403, error: 'reauth_required', maxAgeMs };
    },
    csrf: (state, body) => csrf(state, body, undefined),
    checkCsrf: (state, token) => csrf(state, undefined, token),
    loginCsrf(state, body) {
      const request = b.request(state);
      return loginCsrfRefusal(sessions, request, submittedToken(request.headers, body));
    },
    loginToken(state, res) {
      const { token, setCookie } = sessions.issueLoginToken(b.request(state));
      b.setCookies(res, setCookie);
      b.noStore(res);
      return token;
    },
    csrfToken(state) {
      const session = b.session(state);
      return session ? sessions.csrfToken(session) : null;
    },
    async startSession(state, res, create) {
      const issued = await sessions.create(b.request(state), await withEpoch(users, create));
      takeOver(state, res, issued);
      return issued;
    },
    adopt: takeOver,
    async endSession(state, res) {
      const { destroyed, setCookie } = await sessions.destroy(b.request(state));
      b.setCookies(res, setCookie);
      b.ended(state);
      return destroyed;
    },
    async rotate(state, res) {
      const session = b.session(state);
      if (!session) throw new TypeError('rotate: no session on this request');
      const issued = await sessions.rotate(b.request(state), session);
      takeOver(state, res, issued);
      return issued;
    },
    async reauthenticate(state, res, options) {
      const session = b.session(state);
      if (!session) throw new TypeError('reauthenticate: no session on this request');
      const issued = await sessions.reauthenticate(b.request(state), session, options);
      takeOver(state, res, issued);
      return issued;
    },
    setCookies: (res, cookies) => b.setCookies(res, cookies),
    dbscEndpoint(method, path) {
      const dbsc = sessions.dbsc;
      if (!dbsc || method !== 'POST') return null;
      return path === dbsc.registrationPath ? 'register' : path === dbsc.refreshPath ? 'refresh' : null;
    },
    async answerDbsc(request, endpoint) {
      const dbsc = sessions.dbsc;
      if (!dbsc) throw new TypeError('answerDbsc: createSessions({ dbsc }) is off');
      const answer = endpoint === 'register' ? await dbsc.register(request) : await dbsc.refresh(request);
      options.onDbsc?.(answer.event);
      return answer;
    },
  };
}
