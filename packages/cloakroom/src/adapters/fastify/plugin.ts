import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { UserStore } from '../../auth/types.js';
import type { User } from '../../auth/users.js';
import { StoreError } from '../../core/errors.js';
import { isSafeMethod } from '../../core/request.js';
import type { Session } from '../../core/session.js';
import type { CreateOptions, Issued, Sessions } from '../../core/sessions.js';
import {
  type AuthState,
  adoptSession,
  type NoUserReason,
  resolveAuth,
  withEpoch,
} from '../shared/auth-state.js';
import { submittedToken } from '../shared/csrf-token.js';
import { loginCsrfRefusal } from '../shared/login-csrf.js';
import { fromNodeRequest } from '../shared/node-request.js';
import {
  csrfRefusal,
  type Refusal,
  refusalBody,
  roleRefusal,
  UNAVAILABLE_BODY,
  userRefusal,
} from '../shared/refusal.js';
import { mergeSetCookie } from '../shared/set-cookie.js';

/** What the plugin attaches as `request.cloakroom`. */
export type CloakroomState = AuthState;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by cloakroom's onRequest hook for every route in the plugin's scope. */
    cloakroom: CloakroomState;
  }
}

export interface FastifyAuthOptions {
  sessions: Sessions;
  /** Loads the user on every request, so role changes and locks apply at once. */
  users?: UserStore;
  /** Honour X-Forwarded-Proto/-Host/-For. Only behind a proxy you control. Default `false`. */
  trustProxy?: boolean;
  /** Answer when the store is down. Default: `503 {"error":"unavailable"}`. */
  onUnavailable?: (request: FastifyRequest, reply: FastifyReply, error: StoreError) => FastifyReply;
  /**
   * Also answer a `StoreError` thrown later (by a helper or a handler) with `onUnavailable`, through
   * an error handler set in the registering scope; other errors go on to the handler in force
   * before. Default `true`. Set `false` if that scope sets its own error handler (Fastify warns
   * about a second one per scope) and answer StoreError there.
   */
  handleStoreErrors?: boolean;
  /** Answer when a guard refuses. Default: the JSON errors of docs/api.md (401/403). */
  onRefused?: (request: FastifyRequest, reply: FastifyReply, refusal: Refusal) => FastifyReply;
}

interface Context {
  sessions: Sessions;
  users: UserStore | undefined;
  refused: NonNullable<FastifyAuthOptions['onRefused']>;
}

// The options live on each request's state, so the exported guards and helpers need no handle
// on the plugin instance and work in any child context of the one that registered it.
const kContext = Symbol('cloakroom.context');
type InternalState = CloakroomState & { [kContext]: Context };

function internal(request: FastifyRequest): InternalState {
  const state = request.cloakroom as InternalState | null;
  if (!state) throw new TypeError('cloakroom: register cloakroomPlugin in a scope that contains this route');
  return state;
}

/** Adds cookies to the reply, the last value per cookie name winning, and forbids caching. */
function writeCookies(reply: FastifyReply, cookies: readonly string[]): void {
  if (cookies.length === 0) return;
  const merged = mergeSetCookie(reply.getHeader('set-cookie'), cookies);
  // `reply.header('set-cookie', …)` appends to what is there: replace the list whole instead.
  reply.removeHeader('set-cookie');
  reply.header('set-cookie', merged);
  reply.header('cache-control', 'no-store');
}

const plugin: FastifyPluginAsync<FastifyAuthOptions> = async (fastify, options) => {
  const { sessions, users } = options;
  const trustProxy = options.trustProxy ?? false;
  const unavailable = options.onUnavailable ?? ((_request, reply) => reply.code(503).send(UNAVAILABLE_BODY));
  const context: Context = {
    sessions,
    users,
    refused: options.onRefused ?? ((_request, reply, r) => reply.code(r.status).send(refusalBody(r))),
  };

  fastify.decorateRequest('cloakroom', null as unknown as CloakroomState);
  if (options.handleStoreErrors !== false) {
    fastify.setErrorHandler((error, request, reply) => {
      if (error instanceof StoreError && !reply.sent) return unavailable(request, reply, error);
      // Rethrown, the error reaches the error handler that was in force before (Fastify chains them).
      throw error;
    });
  }
  fastify.addHook('onRequest', async (request, reply) => {
    try {
      const { state, setCookie } = await resolveAuth(
        sessions,
        users,
        fromNodeRequest(request.raw, trustProxy),
      );
      request.cloakroom = Object.assign(state, { [kContext]: context });
      // A signed-in answer may carry personal data or a CSRF token: never for a shared cache.
      // A handler may replace this with its own Cache-Control (e.g. `private, max-age=60`).
      if (state.session) reply.header('cache-control', 'no-store');
      writeCookies(reply, setCookie);
    } catch (error) {
      if (error instanceof StoreError) return unavailable(request, reply, error);
      throw error;
    }
  });
};

/**
 * The Fastify plugin (Fastify 5): validates the session cookie in an `onRequest` hook and puts
 * `{ session, user, reason, request }` on `request.cloakroom`. It is not encapsulated (the
 * `skip-override` mark `fastify-plugin` would set), so the hook covers the routes of the scope
 * that registers it, without a runtime dependency on `fastify-plugin`.
 * It also sets an error handler there that answers a later `StoreError` with `onUnavailable`
 * (`handleStoreErrors`).
 * @example
 * await app.register(cloakroomPlugin, { sessions, users: store.users });
 * app.post('/login', { preHandler: loginCsrf() }, signInHandler);
 * app.get('/admin', { preHandler: requireRole('admin') }, async (request) => request.cloakroom.user);
 */
export const cloakroomPlugin = Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'cloakroom',
  [Symbol.for('plugin-meta')]: { name: 'cloakroom' },
});

type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

const guard =
  (decide: (state: InternalState, request: FastifyRequest) => Refusal | null): Guard =>
  async (request, reply) => {
    const state = internal(request);
    const refusal = decide(state, request);
    return refusal ? state[kContext].refused(request, reply, refusal) : undefined;
  };

/** preHandler: 401 unless a user is signed in. */
export const requireUser = (): Guard =>
  guard((state) => userRefusal(state, state[kContext].users !== undefined));

/** preHandler: 401 when signed out, 403 without `role`. Roles are read fresh on every request. */
export const requireRole = (role: string): Guard => guard((state) => roleRefusal(state, role));

/**
 * preHandler: CSRF protection for unsafe methods. The origin gate, then a token from
 * `X-CSRF-Token` or the `_csrf` field of a parsed form body (Fastify parses only JSON and text by
 * default: register `@fastify/formbody` or `@fastify/multipart` for HTML forms). preHandler runs
 * after body parsing. Never from the query string.
 */
export const csrf = (): Guard =>
  guard((state, request) =>
    isSafeMethod(state.request.method)
      ? null
      : csrfRefusal(state[kContext].sessions, state, submittedToken(state.request.headers, request.body)),
  );

/**
 * preHandler for the sign-in route (outside the `csrf()` scope): the origin gate always, and for
 * any body but JSON the login token of {@link loginToken} in `_csrf` or `X-CSRF-Token`.
 */
export const loginCsrf = (): Guard =>
  guard((state, request) =>
    loginCsrfRefusal(
      state[kContext].sessions,
      state.request,
      submittedToken(state.request.headers, request.body),
    ),
  );

/** A login token for the sign-in form; sets its nonce cookie if needed, and `no-store`. */
export function loginToken(request: FastifyRequest, reply: FastifyReply): string {
  const state = internal(request);
  const { token, setCookie } = state[kContext].sessions.issueLoginToken(state.request);
  writeCookies(reply, setCookie);
  reply.header('cache-control', 'no-store');
  return token;
}

/** A fresh masked CSRF token for the signed-in client, or `null` when signed out. */
export function csrfToken(request: FastifyRequest): string | null {
  const state = internal(request);
  return state.session ? state[kContext].sessions.csrfToken(state.session) : null;
}

/** Starts a fresh session for `userId` (the request's old one is destroyed) and sets the cookie. */
export async function startSession(
  request: FastifyRequest,
  reply: FastifyReply,
  create: CreateOptions,
): Promise<Issued> {
  const state = internal(request);
  const issued = await state[kContext].sessions.create(
    state.request,
    await withEpoch(state[kContext].users, create),
  );
  adopt(request, reply, issued);
  return issued;
}

/** Takes over a session issued elsewhere (e.g. by `signIn` of `cloakroom`). */
export function adopt(request: FastifyRequest, reply: FastifyReply, issued: Issued): void {
  writeCookies(reply, issued.setCookie);
  adoptSession(internal(request), issued.session);
}

/** Ends the request's session server-side and clears the cookie. */
export async function endSession(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  const state = internal(request);
  const { destroyed, setCookie } = await state[kContext].sessions.destroy(state.request);
  writeCookies(reply, setCookie);
  state.session = null;
  state.user = null;
  return destroyed;
}

/** New ticket for the same sign-in (after a privilege change). */
export async function rotate(request: FastifyRequest, reply: FastifyReply): Promise<Issued> {
  const state = internal(request);
  if (!state.session) throw new TypeError('rotate: no session on this request');
  const issued = await state[kContext].sessions.rotate(state.request, state.session);
  adopt(request, reply, issued);
  return issued;
}

/** Adds extra Set-Cookie values (e.g. the login CSRF nonce), last value per name winning. */
export function setCookies(reply: FastifyReply, cookies: readonly string[]): void {
  writeCookies(reply, cookies);
}

export type { NoUserReason, Refusal, Session, User };
