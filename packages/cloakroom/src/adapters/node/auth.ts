import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UserStore } from '../../auth/types.js';
import type { User } from '../../auth/users.js';
import type { DbscEvent } from '../../core/dbsc.js';
import type { Duration } from '../../core/duration.js';
import { StoreError } from '../../core/errors.js';
import type { Session } from '../../core/session.js';
import type { CreateOptions, Issued, ReauthenticateOptions, Sessions } from '../../core/sessions.js';
import type { AuthState, NoUserReason } from '../shared/auth-state.js';
import { pathOf, sendDbscAnswer } from '../shared/dbsc-answer.js';
import { createEngine } from '../shared/engine.js';
import { nodeBinding, sendJson } from '../shared/node-binding.js';
import { fromNodeRequest } from '../shared/node-request.js';
import { recentAuthWindow } from '../shared/recent-auth.js';
import { type Refusal, refusalBody, UNAVAILABLE_BODY } from '../shared/refusal.js';

/** What {@link NodeAuth.authenticate} returns; the helpers update it in place. */
export type NodeAuthState = AuthState;

export interface NodeAuthOptions {
  sessions: Sessions;
  /** Loads the user on every request, so role changes and locks apply at once. */
  users?: UserStore;
  /** Honour X-Forwarded-Proto/-Host/-For. Only behind a proxy you control. Default `false`. */
  trustProxy?: boolean;
  /**
   * Answer when the store is down: in `authenticate`, and for a `StoreError` a handler run by
   * `handle` throws. Default: `503 {"error":"unavailable"}`.
   */
  onUnavailable?: (req: IncomingMessage, res: ServerResponse, error: StoreError) => void;
  /**
   * Called with what each device-bound-session registration or refresh did (for audit logs and
   * metrics); never with a token, key or challenge. Only with `createSessions({ dbsc })`.
   */
  onDbsc?: (event: DbscEvent) => void;
}

/** A request handler for {@link NodeAuth.handle}: the state is already there. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, state: NodeAuthState) => unknown;

/**
 * The adapter for plain `node:http`, a binding of the shared engine (`shared/engine.ts`): no
 * middleware chain, so each step is a call that either returns what the handler needs or has
 * already answered (guards return `false` after a 401/403; `authenticate` returns `null` after a
 * 503, and after answering a device-bound-session endpoint with `createSessions({ dbsc })`).
 * Cookies go on the response at once.
 * @example
 * const auth = createNodeAuth({ sessions, users: store.users });
 * const handle = auth.handle(async (req, res, state) => {
 *   if (!auth.requireUser(state, res)) return;
 *   res.end(`hello ${state.user!.displayName}`);
 * });
 * http.createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
 */
export function createNodeAuth(options: NodeAuthOptions) {
  const engine = createEngine<NodeAuthState, ServerResponse>(options, nodeBinding);
  const trustProxy = options.trustProxy ?? false;
  const unavailable =
    options.onUnavailable ??
    ((_req: IncomingMessage, res: ServerResponse) => sendJson(res, 503, UNAVAILABLE_BODY));

  const answer = (res: ServerResponse, refusal: Refusal | null): boolean => {
    if (refusal) sendJson(res, refusal.status, refusalBody(refusal));
    return refusal === null;
  };

  /** Validates the session cookie and loads the user; `null` once it has answered 503 (store down). */
  const validate = async (req: IncomingMessage, res: ServerResponse): Promise<NodeAuthState | null> => {
    try {
      return await engine.authenticate(res, fromNodeRequest(req, trustProxy));
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      unavailable(req, res, error);
      return null;
    }
  };

  /**
   * With device-bound sessions on, `POST` to their two endpoints is answered here, before
   * validation (a refresh comes exactly when the bound cookie is missing), and `null` says the
   * handler has nothing left to do. Decided once: with `dbsc` off this is `validate` itself.
   */
  const authenticate: typeof validate =
    options.sessions.dbsc === null
      ? validate
      : async (req, res) => {
          const endpoint = req.method === 'POST' ? engine.dbscEndpoint(req.method, pathOf(req.url)) : null;
          if (!endpoint) return validate(req, res);
          try {
            sendDbscAnswer(res, await engine.answerDbsc(fromNodeRequest(req, trustProxy), endpoint));
          } catch (error) {
            if (!(error instanceof StoreError)) throw error;
            unavailable(req, res, error);
          }
          return null;
        };

  return {
    /**
     * Validates the session cookie and loads the user. `null` once it has answered: 503 when the
     * store is down, or (with `createSessions({ dbsc })`) a `POST` to the DBSC registration or
     * refresh path, which it answers whole; return from the handler then.
     */
    authenticate,
    /**
     * A request listener around `handler`: `authenticate` first, then `handler` with the state. A
     * `StoreError` it throws (a helper or your own store call, the store down mid-request) gets the
     * `onUnavailable` answer, so sign-out never answers a false success; any other error rejects
     * the returned promise, for your own catch.
     */
    handle(handler: NodeHandler): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
      return async (req, res) => {
        const state = await authenticate(req, res);
        if (!state) return;
        try {
          await handler(req, res, state);
        } catch (error) {
          if (!(error instanceof StoreError) || res.headersSent) throw error;
          unavailable(req, res, error);
        }
      };
    },
    /** `true` when a user is signed in; otherwise answers 401 and returns `false`. */
    requireUser(state: NodeAuthState, res: ServerResponse): boolean {
      return answer(res, engine.requireUser(state));
    },
    /** `true` when the user has `role`; otherwise answers 401 (signed out) or 403 and returns `false`. */
    requireRole(state: NodeAuthState, res: ServerResponse, role: string): boolean {
      return answer(res, engine.requireRole(state, role));
    },
    /**
     * Makes a guard, once (`maxAge`, `'5m'` or seconds, is parsed here: a bad one throws
     * `ConfigError`; default the sessions' `reauthWindow`). The guard returns `true` when the last
     * proof of a factor (sign-in or `reauthenticate`) is younger than `maxAge`; otherwise it
     * answers 401 (signed out) or 403 `reauth_required` and returns `false`.
     * @example
     * const recentAuth = auth.requireRecentAuth('5m');
     * // in the handler:
     * if (!recentAuth(state, res)) return;
     */
    requireRecentAuth(maxAge?: Duration): (state: NodeAuthState, res: ServerResponse) => boolean {
      const maxAgeMs = recentAuthWindow(maxAge);
      return (state, res) => answer(res, engine.requireRecentAuth(state, maxAgeMs));
    },
    /** The CSRF check alone: `null` when the request may go on, else why not. Safe methods pass. */
    checkCsrf(state: NodeAuthState, token: string | null): Refusal | null {
      return engine.checkCsrf(state, token);
    },
    /**
     * `true` when an unsafe request passes the origin gate and presents a valid token, from
     * `X-CSRF-Token` or `_csrf` of `form` (the body you parsed, only for form content types);
     * otherwise answers 403 and returns `false`. Never reads the query string.
     */
    csrf(state: NodeAuthState, res: ServerResponse, form?: unknown): boolean {
      return answer(res, engine.csrf(state, form));
    },
    /**
     * Login CSRF for the sign-in route (before `csrf`): `true` when it passes the origin gate and,
     * for any body but JSON, presents the login token of `loginToken` (`X-CSRF-Token`, or `_csrf`
     * of `form`, your parsed body); otherwise answers 403 and returns `false`.
     */
    loginCsrf(state: NodeAuthState, res: ServerResponse, form?: unknown): boolean {
      return answer(res, engine.loginCsrf(state, form));
    },
    /** A login token for the sign-in form; sets its nonce cookie if needed, and `no-store`. */
    loginToken(state: NodeAuthState, res: ServerResponse): string {
      return engine.loginToken(state, res);
    },
    /** A fresh masked CSRF token for the client (the sign-in answer carries one too). */
    csrfToken(state: NodeAuthState): string | null {
      return engine.csrfToken(state);
    },
    /** Starts a fresh session for `userId` (the request's old one is destroyed) and sets the cookie. */
    startSession(state: NodeAuthState, res: ServerResponse, create: CreateOptions): Promise<Issued> {
      return engine.startSession(state, res, create);
    },
    /** Takes over a session issued elsewhere (e.g. by `signIn` of `cloakroom`). */
    adopt(state: NodeAuthState, res: ServerResponse, issued: Issued): void {
      engine.adopt(state, res, issued);
    },
    /** Ends the request's session server-side and clears the cookie. */
    endSession(state: NodeAuthState, res: ServerResponse): Promise<boolean> {
      return engine.endSession(state, res);
    },
    /** New ticket for the same sign-in (after a privilege change). */
    rotate(state: NodeAuthState, res: ServerResponse): Promise<Issued> {
      return engine.rotate(state, res);
    },
    /**
     * After the user proved a factor again (you checked it): a new ticket whose `authenticatedAt`
     * is now, with a new CSRF secret; `methods` replaces the session's when given.
     */
    reauthenticate(
      state: NodeAuthState,
      res: ServerResponse,
      options?: ReauthenticateOptions,
    ): Promise<Issued> {
      return engine.reauthenticate(state, res, options);
    },
  };
}

/** The adapter instance type. */
export type NodeAuth = ReturnType<typeof createNodeAuth>;

export type { DbscEvent, NoUserReason, Refusal, Session, User };
