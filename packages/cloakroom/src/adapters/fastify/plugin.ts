import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { UserStore } from '../../auth/types.js';
import type { User } from '../../auth/users.js';
import type { DbscAnswer, DbscEvent } from '../../core/dbsc.js';
import type { Duration } from '../../core/duration.js';
import { StoreError } from '../../core/errors.js';
import type { Session } from '../../core/session.js';
import type { CreateOptions, Issued, ReauthenticateOptions, Sessions } from '../../core/sessions.js';
import type { AuthState, NoUserReason } from '../shared/auth-state.js';
import { pathOf } from '../shared/dbsc-answer.js';
import { authStateAccess, createEngine, type Engine } from '../shared/engine.js';
import { fromNodeRequest } from '../shared/node-request.js';
import { recentAuthWindow } from '../shared/recent-auth.js';
import { bodyRefusal, type Refusal, refusalBody, UNAVAILABLE_BODY } from '../shared/refusal.js';
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
   * Also answer a `StoreError` thrown later (by a helper or a handler) with `onUnavailable`, and a
   * body Fastify could not parse with the JSON `400 bad_request` / `413 payload_too_large` every
   * adapter answers, through an error handler set in the registering scope; other errors go on to
   * the handler in force before. Default `true`. Set `false` if that scope sets its own error
   * handler (Fastify warns about a second one per scope) and answer StoreError there.
   */
  handleStoreErrors?: boolean;
  /** Answer when a guard refuses. Default: the JSON errors of docs/api.md (401/403). */
  onRefused?: (request: FastifyRequest, reply: FastifyReply, refusal: Refusal) => FastifyReply;
  /**
   * Called with what each device-bound-session registration or refresh did (for audit logs and
   * metrics); never with a token, key or challenge. Only with `createSessions({ dbsc })`.
   */
  onDbsc?: (event: DbscEvent) => void;
}

// The engine and `onRefused` ride on each request's state, so the exported guards and helpers need
// no handle on the plugin instance and work in any child context of the one that registered it.
const kPlugin = Symbol('cloakroom.plugin');
type Plugin = {
  engine: Engine<InternalState, FastifyReply>;
  refused: NonNullable<FastifyAuthOptions['onRefused']>;
};
type InternalState = CloakroomState & { [kPlugin]: Plugin };

function internal(request: FastifyRequest): InternalState {
  const state = request.cloakroom as InternalState | null;
  if (!state) throw new TypeError('cloakroom: register cloakroomPlugin in a scope that contains this route');
  return state;
}

/** The status of a body Fastify's content-type parsing refused (`FST_ERR_CTP_*`), else `null`. */
function refusedBodyStatus(error: unknown): number | null {
  const { code, statusCode: status } = (error ?? {}) as { code?: unknown; statusCode?: unknown };
  if (typeof code !== 'string' || !code.startsWith('FST_ERR_CTP_')) return null;
  return status === 400 || status === 413 || status === 415 ? status : null;
}

/** A DBSC answer, whole, on the reply; the caller returns the reply to end the hook chain. */
function sendDbscAnswer(reply: FastifyReply, answer: DbscAnswer): FastifyReply {
  reply.code(answer.status).headers(answer.headers);
  setCookies(reply, answer.setCookie);
  // A string payload is sent as it is, under the answer's own Content-Type.
  return answer.body === null ? reply.send() : reply.send(answer.body);
}

const plugin: FastifyPluginAsync<FastifyAuthOptions> = async (fastify, options) => {
  const trustProxy = options.trustProxy ?? false;
  const unavailable = options.onUnavailable ?? ((_request, reply) => reply.code(503).send(UNAVAILABLE_BODY));
  const context: Plugin = {
    refused: options.onRefused ?? ((_request, reply, r) => reply.code(r.status).send(refusalBody(r))),
    engine: createEngine<InternalState, FastifyReply>(options, {
      ...authStateAccess,
      attach(reply, request, session, user, reason) {
        // A handler may replace this with its own Cache-Control (e.g. `private, max-age=60`).
        if (session) reply.header('cache-control', 'no-store');
        return { session, user, reason, request, [kPlugin]: context };
      },
      setCookies,
      noStore: (reply) => void reply.header('cache-control', 'no-store'),
      setHeader: (reply, name, value) => void reply.header(name, value),
    }),
  };

  fastify.decorateRequest('cloakroom', null as unknown as CloakroomState);
  if (options.handleStoreErrors !== false) {
    fastify.setErrorHandler((error, request, reply) => {
      // Rethrown, an error reaches the error handler that was in force before (Fastify chains them).
      if (reply.sent) throw error;
      if (error instanceof StoreError) return unavailable(request, reply, error);
      const status = refusedBodyStatus(error);
      if (status === null) throw error;
      const answer = bodyRefusal(status);
      return reply.code(answer.status).send(answer.body);
    });
  }
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      request.cloakroom = await context.engine.authenticate(reply, fromNodeRequest(request.raw, trustProxy));
    } catch (error) {
      if (error instanceof StoreError) return unavailable(request, reply, error);
      throw error;
    }
  };
  // With device-bound sessions on, `POST` to their two endpoints is answered in the same onRequest
  // hook, before validation (a refresh comes exactly when the bound cookie is missing). A hook
  // rather than routes registered here: it answers before Fastify parses a body (a stray
  // Content-Type on the empty POST cannot turn it into a 400), no route of the app at the same
  // path can run or clash at startup, the routes would take the prefix of whatever scope
  // registers the plugin while the browser posts to the exact path the server named, and it
  // behaves as the other adapters' middleware does. The app needs no route there: registered in
  // the root scope, the hook runs for the 404 handler too. Decided once: with `dbsc` off the hook
  // is `authenticate` itself.
  fastify.addHook(
    'onRequest',
    options.sessions.dbsc === null
      ? authenticate
      : async (request, reply) => {
          const endpoint =
            request.method === 'POST'
              ? context.engine.dbscEndpoint(request.method, pathOf(request.url))
              : null;
          if (!endpoint) return authenticate(request, reply);
          try {
            const answer = await context.engine.answerDbsc(
              fromNodeRequest(request.raw, trustProxy),
              endpoint,
            );
            return sendDbscAnswer(reply, answer);
          } catch (error) {
            if (error instanceof StoreError) return unavailable(request, reply, error);
            throw error;
          }
        },
  );
};

/**
 * The Fastify plugin (Fastify 5), a binding of the shared engine (`shared/engine.ts`): validates
 * the session cookie in an `onRequest` hook and puts `{ session, user, reason, request }` on
 * `request.cloakroom`. It is not encapsulated (the `skip-override` mark `fastify-plugin` would
 * set), so the hook covers the routes of the scope that registers it, without a runtime dependency
 * on `fastify-plugin`. It also sets an error handler there (`handleStoreErrors`).
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
  (
    decide: (engine: Plugin['engine'], state: InternalState, request: FastifyRequest) => Refusal | null,
  ): Guard =>
  async (request, reply) => {
    const state = internal(request);
    const refusal = decide(state[kPlugin].engine, state, request);
    return refusal ? state[kPlugin].refused(request, reply, refusal) : undefined;
  };

/** preHandler: 401 unless a user is signed in. */
export const requireUser = (): Guard => guard((engine, state) => engine.requireUser(state));

/** preHandler: 401 when signed out, 403 without `role`. Roles are read fresh on every request. */
export const requireRole = (role: string): Guard => guard((engine, state) => engine.requireRole(state, role));

/**
 * preHandler: 401 when signed out, 403 `reauth_required` when the last proof of a factor (sign-in
 * or {@link reauthenticate}) is `maxAge` old or older. `maxAge` (`'5m'`, seconds) is parsed here,
 * once: a bad one throws `ConfigError`. Default: the `reauthWindow` of the plugin's sessions.
 */
export const requireRecentAuth = (maxAge?: Duration): Guard => {
  const maxAgeMs = recentAuthWindow(maxAge);
  return guard((engine, state) => engine.requireRecentAuth(state, maxAgeMs));
};

/**
 * preHandler: CSRF protection for unsafe methods. The origin gate, then a token from
 * `X-CSRF-Token` or the `_csrf` field of a parsed form body (Fastify parses only JSON and text by
 * default: register `@fastify/formbody` or `@fastify/multipart` for HTML forms). preHandler runs
 * after body parsing. Never from the query string.
 */
export const csrf = (): Guard => guard((engine, state, request) => engine.csrf(state, request.body));

/**
 * preHandler for the sign-in route (outside the `csrf()` scope): the origin gate always, and for
 * any body but JSON the login token of {@link loginToken} in `_csrf` or `X-CSRF-Token`.
 */
export const loginCsrf = (): Guard =>
  guard((engine, state, request) => engine.loginCsrf(state, request.body));

/** A login token for the sign-in form; sets its nonce cookie if needed, and `no-store`. */
export function loginToken(request: FastifyRequest, reply: FastifyReply): string {
  const state = internal(request);
  return state[kPlugin].engine.loginToken(state, reply);
}

/** A fresh masked CSRF token for the signed-in client, or `null` when signed out. */
export function csrfToken(request: FastifyRequest): string | null {
  const state = internal(request);
  return state[kPlugin].engine.csrfToken(state);
}

/** Starts a fresh session for `userId` (the request's old one is destroyed) and sets the cookie. */
export async function startSession(
  request: FastifyRequest,
  reply: FastifyReply,
  create: CreateOptions,
): Promise<Issued> {
  const state = internal(request);
  return state[kPlugin].engine.startSession(state, reply, create);
}

/** Takes over a session issued elsewhere (e.g. by `signIn` of `cloakroom`). */
export function adopt(request: FastifyRequest, reply: FastifyReply, issued: Issued): void {
  const state = internal(request);
  state[kPlugin].engine.adopt(state, reply, issued);
}

/** Ends the request's session server-side and clears the cookie. */
export async function endSession(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  const state = internal(request);
  return state[kPlugin].engine.endSession(state, reply);
}

/** New ticket for the same sign-in (after a privilege change). */
export async function rotate(request: FastifyRequest, reply: FastifyReply): Promise<Issued> {
  const state = internal(request);
  return state[kPlugin].engine.rotate(state, reply);
}

/**
 * After the user proved a factor again (you checked it): a new ticket whose `authenticatedAt` is
 * now, with a new CSRF secret; `methods` replaces the session's when given.
 */
export async function reauthenticate(
  request: FastifyRequest,
  reply: FastifyReply,
  options?: ReauthenticateOptions,
): Promise<Issued> {
  const state = internal(request);
  return state[kPlugin].engine.reauthenticate(state, reply, options);
}

/** Adds extra Set-Cookie values (e.g. the login CSRF nonce), last value per name winning, and `no-store`. */
export function setCookies(reply: FastifyReply, cookies: readonly string[]): void {
  if (cookies.length === 0) return;
  const merged = mergeSetCookie(reply.getHeader('set-cookie'), cookies);
  // `reply.header('set-cookie', …)` appends to what is there: replace the list whole instead.
  reply.removeHeader('set-cookie');
  reply.header('set-cookie', merged).header('cache-control', 'no-store');
}

export type { DbscEvent, NoUserReason, Refusal, Session, User };
