import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
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
import { nodeBinding } from '../shared/node-binding.js';
import { fromNodeRequest } from '../shared/node-request.js';
import { recentAuthWindow } from '../shared/recent-auth.js';
import { bodyRefusal, type Refusal, refusalBody, UNAVAILABLE_BODY } from '../shared/refusal.js';

/** What the middleware attaches as `req.cloakroom`. */
export type CloakroomState = AuthState;

// `req.session` belongs to express-session's typings, so cloakroom keeps to its own property.
declare global {
  namespace Express {
    interface Request {
      /** Set by cloakroom's `middleware`; absent on routes it does not run for. */
      cloakroom: CloakroomState;
    }
  }
}

export interface ExpressAuthOptions {
  sessions: Sessions;
  /** Loads the user on every request, so role changes and locks apply at once. */
  users?: UserStore;
  /** Honour X-Forwarded-Proto/-Host/-For. Only behind a proxy you control. Default `false`. */
  trustProxy?: boolean;
  /**
   * Answer when the store is down: in the middleware, and (through `errorHandler`) for a
   * `StoreError` a helper or handler throws later. Default: `503 {"error":"unavailable"}`.
   */
  onUnavailable?: (req: Request, res: Response, error: StoreError) => void;
  /** Answer when a guard refuses. Default: the JSON errors of docs/api.md (401/403). */
  onRefused?: (req: Request, res: Response, refusal: Refusal) => void;
  /**
   * Called with what each device-bound-session registration or refresh did (for audit logs and
   * metrics); never with a token, key or challenge. Only with `createSessions({ dbsc })`.
   */
  onDbsc?: (event: DbscEvent) => void;
}

function stateOf(req: Request): CloakroomState {
  const state = req.cloakroom as CloakroomState | undefined;
  if (!state) throw new TypeError('cloakroom: app.use(auth.middleware) must run before this route');
  return state;
}

/** The status of a body `express.json()` / `express.urlencoded()` (body-parser) refused, else `null`. */
function refusedBodyStatus(error: unknown): number | null {
  const { type, status, expose } = (error ?? {}) as { type?: unknown; status?: unknown; expose?: unknown };
  // body-parser's errors are http-errors with a `type` such as 'entity.parse.failed' or
  // 'entity.too.large'; 415 is an unsupported charset or Content-Encoding.
  if (typeof type !== 'string' || expose !== true) return null;
  return status === 400 || status === 413 || status === 415 ? status : null;
}

/**
 * The Express adapter (Express 5 and 4: nothing here relies on Express 5's promise handling;
 * the behaviour suite runs on both), a binding of the shared engine (`shared/engine.ts`).
 * @example
 * const auth = createExpressAuth({ sessions, users: store.users });
 * app.use(express.json(), express.urlencoded({ extended: false }), auth.middleware);
 * app.post('/login', auth.loginCsrf(), signInHandler);
 * app.use(auth.csrf());
 * app.get('/admin', auth.requireRole('admin'), (req, res) => res.json(req.cloakroom.user));
 * app.use(auth.errorHandler); // after the routes
 */
export function createExpressAuth(options: ExpressAuthOptions) {
  const engine = createEngine<CloakroomState, Response>(options, nodeBinding);
  const trustProxy = options.trustProxy ?? false;
  const unavailable =
    options.onUnavailable ?? ((_req: Request, res: Response) => res.status(503).json(UNAVAILABLE_BODY));
  const refused =
    options.onRefused ??
    ((_req: Request, res: Response, r: Refusal) => res.status(r.status).json(refusalBody(r)));

  const guard =
    (decide: (state: CloakroomState, req: Request) => Refusal | null): RequestHandler =>
    (req, res, next) => {
      const refusal = decide(stateOf(req), req);
      if (refusal) refused(req, res, refusal);
      else next();
    };

  /** Validates the session cookie and loads the user into `req.cloakroom`; a down store answers 503. */
  const authenticate: RequestHandler = (req, res, next) => {
    engine.authenticate(res, fromNodeRequest(req, trustProxy)).then(
      (state) => {
        req.cloakroom = state;
        next();
      },
      (error: unknown) => {
        if (error instanceof StoreError) unavailable(req, res, error);
        else next(error);
      },
    );
  };

  /**
   * With device-bound sessions on, `POST` to their two endpoints is answered here, before
   * validation (a refresh comes exactly when the bound cookie is missing), and the routes behind
   * never run. `originalUrl`: the path the browser posted to, wherever the middleware is mounted.
   * Decided once: with `dbsc` off the middleware is `authenticate` itself.
   */
  const middleware: RequestHandler =
    options.sessions.dbsc === null
      ? authenticate
      : (req, res, next) => {
          const endpoint =
            req.method === 'POST' ? engine.dbscEndpoint(req.method, pathOf(req.originalUrl)) : null;
          if (!endpoint) return authenticate(req, res, next);
          engine.answerDbsc(fromNodeRequest(req, trustProxy), endpoint).then(
            (answer) => sendDbscAnswer(res, answer),
            (error: unknown) => {
              if (error instanceof StoreError) unavailable(req, res, error);
              else next(error);
            },
          );
        };

  /**
   * Error middleware; mount it after your routes. A `StoreError` from a helper or a handler
   * (the store went down mid-request) gets the `onUnavailable` answer instead of a 500: sign-out
   * must never look like a success, nor a failure of the app. A body the parsers refused gets the
   * JSON `400 bad_request` or `413 payload_too_large` every adapter answers, not Express's HTML
   * page with a stack trace. Other errors go on to `next`. On Express 4, forward a rejected
   * promise yourself (`.catch(next)`).
   */
  const errorHandler: ErrorRequestHandler = (error, req, res, next) => {
    if (res.headersSent) return next(error);
    if (error instanceof StoreError) return unavailable(req, res, error);
    const status = refusedBodyStatus(error);
    if (status === null) return next(error);
    const answer = bodyRefusal(status);
    res.status(answer.status).json(answer.body);
  };

  return {
    middleware,
    /** Refuses with 401 unless a user is signed in. */
    requireUser: (): RequestHandler => guard((state) => engine.requireUser(state)),
    /** Refuses with 401 when signed out and 403 without `role`. Roles are read fresh on every request. */
    requireRole: (role: string): RequestHandler => guard((state) => engine.requireRole(state, role)),
    /**
     * Refuses with 401 when signed out and 403 `reauth_required` when the last proof of a factor
     * (sign-in or `reauthenticate`) is `maxAge` old or older. `maxAge` (`'5m'`, seconds) is
     * parsed here, once: a bad one throws `ConfigError`. Default: the sessions' `reauthWindow`.
     */
    requireRecentAuth: (maxAge?: Duration): RequestHandler => {
      const maxAgeMs = recentAuthWindow(maxAge);
      return guard((state) => engine.requireRecentAuth(state, maxAgeMs));
    },
    /**
     * CSRF protection for unsafe methods: the origin gate, then a token from `X-CSRF-Token` or
     * the `_csrf` field of a URL-encoded or multipart body — so mount a body parser
     * (`express.urlencoded()`, multer) before it. Never from the query string.
     */
    csrf: (): RequestHandler => guard((state, req) => engine.csrf(state, req.body)),
    /**
     * Login CSRF for the sign-in route, which comes before `csrf()`: the origin gate always, and
     * for any body but JSON the login token of `loginToken()` in `_csrf` or `X-CSRF-Token` (mount
     * the body parsers first). Refusals are `403 csrf` through `onRefused`.
     */
    loginCsrf: (): RequestHandler => guard((state, req) => engine.loginCsrf(state, req.body)),
    /** A login token for the sign-in form; sets its nonce cookie if needed, and `no-store`. */
    loginToken(req: Request, res: Response): string {
      return engine.loginToken(stateOf(req), res);
    },
    /** A fresh masked CSRF token for the signed-in client, or `null` when signed out. */
    csrfToken(req: Request): string | null {
      return engine.csrfToken(stateOf(req));
    },
    errorHandler,
    /** Starts a fresh session for `userId` (the request's old one is destroyed) and sets the cookie. */
    async startSession(req: Request, res: Response, create: CreateOptions): Promise<Issued> {
      return engine.startSession(stateOf(req), res, create);
    },
    /** Takes over a session issued elsewhere (e.g. by `signIn` of `cloakroom`). */
    adopt(req: Request, res: Response, issued: Issued): void {
      engine.adopt(stateOf(req), res, issued);
    },
    /** Ends the request's session server-side and clears the cookie. */
    async endSession(req: Request, res: Response): Promise<boolean> {
      return engine.endSession(stateOf(req), res);
    },
    /** New ticket for the same sign-in (after a privilege change). */
    async rotate(req: Request, res: Response): Promise<Issued> {
      return engine.rotate(stateOf(req), res);
    },
    /**
     * After the user proved a factor again (you checked it): a new ticket whose `authenticatedAt`
     * is now, with a new CSRF secret; `methods` replaces the session's when given.
     */
    async reauthenticate(req: Request, res: Response, options?: ReauthenticateOptions): Promise<Issued> {
      return engine.reauthenticate(stateOf(req), res, options);
    },
    /** Adds extra Set-Cookie values (e.g. the login CSRF nonce), last value per name winning. */
    setCookies(res: Response, cookies: readonly string[]): void {
      engine.setCookies(res, cookies);
    },
  };
}

/** The adapter instance type. */
export type ExpressAuth = ReturnType<typeof createExpressAuth>;

export type { DbscEvent, NoUserReason, Refusal, Session, User };
