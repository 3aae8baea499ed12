import { isSafeMethod, PasswordsBusyError, StoreError } from 'cloakroom';
import type { CloakroomEnv } from 'cloakroom/hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { accountRoutes } from './api/account.js';
import { adminRoutes } from './api/admin.js';
import { loginRoutes } from './api/login.js';
import { opsRoutes } from './api/ops.js';
import { verifyRoutes } from './api/verify.js';
import type { SetupToken } from './boot/setup-token.js';
import { MAX_BODY_BYTES } from './http/body.js';
import type { App, ServerDeps } from './http/context.js';
import { ApiError, busyError, errorResponse } from './http/errors.js';
import { audit, logsForPeople } from './http/logger.js';
import { requireSecondFactorFor } from './http/require-second-factor.js';
import { accountPages } from './web/account/routes.js';
import { adminPages } from './web/admin/routes.js';
import { loginPages } from './web/login/routes.js';
import { secondStepPages } from './web/login-second-factor/routes.js';
import { passkeysModule } from './web/passkeys/module.js';
import { passkeyPages } from './web/passkeys/routes.js';
import { reauthPages } from './web/reauth/routes.js';
import { recoverPages } from './web/recover/routes.js';
import { isApiPath, pageError } from './web/refusals.js';
import { secondFactorPages } from './web/second-factor/routes.js';
import { setupPages } from './web/setup/routes.js';
import { STYLESHEET } from './web/style.js';

/*
 * The server, folder by folder. Rules about accounts live in `auth/accounts`, not here: every
 * handler below translates a request into an account action and its result into an answer.
 *   boot/  configuration, secrets, stores, the first admin, listening and shutdown
 *   http/  what every handler shares: bodies, ids in paths, errors, logging, metrics, headers
 *   api/   the JSON API and forward auth (`/api/*`, `/auth/verify`, `/healthz`, `/metrics`)
 *   web/   the HTML pages, one folder per page: its handlers (`routes.tsx`) beside its view
 *          (`page.tsx`); layout, flash messages and guards shared by all
 */

/**
 * The login service: the JSON API of docs/api.md and the pages, on the Hono adapter. Every
 * answer a client can provoke is a 2xx, 3xx or 4xx with `{"error","message"}`; a store outage
 * is 503.
 */
export function createApp(deps: ServerDeps, setup: SetupToken | null = null): App {
  const { auth, logger, metrics } = deps;
  const app = new Hono<CloakroomEnv>();

  // For a person at a terminal (LOG_FORMAT=pretty), one short line per request: method, path
  // (never the query: the set-up link carries its token there), status, time. The JSON log has
  // no access log; the proxy in front keeps one. The stylesheet is left out: noise.
  if (logsForPeople(logger)) {
    app.use(async (c, next) => {
      const started = performance.now();
      await next();
      if (c.req.path.startsWith('/assets/')) return;
      logger.info({
        event: 'request',
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      });
    });
  }

  // Security headers (CSP, framing, no-store, …) are set on the Node response by
  // withSecurityHeaders (security-headers.ts), so every answer carries them, 404s included.
  app.get('/assets/cloakroom.css', (c) =>
    c.body(STYLESHEET, 200, {
      'Content-Type': 'text/css; charset=utf-8',
      'Cache-Control': 'public, max-age=3600',
    }),
  );
  passkeysModule(app, deps);

  // Health and metrics never depend on the session store: /healthz stays 200 during an outage.
  opsRoutes(app, deps);

  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => {
      // The rest of the body is left unread and the node adapter drops the socket: say so.
      c.header('Connection', 'close');
      return isApiPath(c.req.path)
        ? errorResponse(c, 'payload_too_large', `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`)
        : pageError(c, 413, 'Too large', 'That form was too large to accept.');
    },
  });
  // Only where a body can matter: on GET the limiter would make the node adapter build a full
  // Request per call (measured: ~70 µs of the forward-auth hot path).
  app.use((c, next) => (isSafeMethod(c.req.method) ? next() : limitBody(c, next)));
  app.use(auth.middleware);
  app.use(async (c, next) => {
    metrics.validations.inc({ result: c.get('authReason') ?? 'ok' });
    if (c.get('session')?.bound) metrics.boundRequests.inc();
    await next();
  });
  // CLOAKROOM_REQUIRE_2FA_ROLES: before every route, so nothing but enrolment and sign-out
  // serves a user who must enrol.
  // Not mounted without roles: a pass-through middleware still costs every request its call.
  if (deps.config.require2faRoles.length > 0) app.use(requireSecondFactorFor(deps.config.require2faRoles));
  // Sign-in has its own login-CSRF checks and replaces whatever session it came with,
  // so it is registered before the session CSRF guard.
  loginRoutes(app, deps);
  loginPages(app, deps);
  secondStepPages(app, deps);
  recoverPages(app, deps);
  setupPages(app, deps, setup);
  app.use(auth.csrf());
  accountRoutes(app, deps);
  adminRoutes(app, deps);
  verifyRoutes(app, deps);
  accountPages(app, deps);
  reauthPages(app, deps);
  secondFactorPages(app, deps);
  passkeyPages(app, deps);
  adminPages(app, deps);

  app.notFound((c) =>
    isApiPath(c.req.path)
      ? errorResponse(c, 'not_found', 'No such route.')
      : pageError(c, 404, 'Page not found', 'There is nothing at this address.'),
  );
  app.onError((error, c) => {
    const api = isApiPath(c.req.path);
    if (error instanceof PasswordsBusyError) {
      // A password change or a new password the hasher's limit refused: nothing was changed.
      // (Sign-in answers its own `busy`: see api/login.ts.)
      const busy = busyError(error.retryAfterSeconds);
      if (api) return errorResponse(c, busy.code, busy.message, busy.headers);
      c.header('Retry-After', String(error.retryAfterSeconds));
      return pageError(
        c,
        503,
        'Busy',
        'Too many passwords are being checked right now; nothing was changed. Please try again in a few seconds.',
      );
    }
    if (error instanceof ApiError) {
      if (api) return errorResponse(c, error.code, error.message, error.headers);
      const status = error.status === 413 ? 413 : 400;
      return pageError(c, status, status === 413 ? 'Too large' : 'Bad request', error.message);
    }
    if (error instanceof StoreError) {
      metrics.storeErrors.inc();
      audit(logger, 'store.unavailable', { route: c.req.routePath, cause: error.message });
      if (!api)
        return pageError(
          c,
          503,
          'Briefly unavailable',
          'The service cannot reach its store. Please try again in a moment.',
        );
      return errorResponse(c, 'unavailable', 'A store is unavailable; try again shortly.');
    }
    logger.error({ err: error, route: c.req.routePath }, 'unhandled error');
    // The detail stays in the log: a page or body that showed it could leak internals.
    if (!api)
      return pageError(
        c,
        500,
        'Something went wrong',
        'The server could not finish this request. Please try again.',
      );
    return c.json({ error: 'internal', message: 'Something went wrong.' }, 500);
  });
  return app;
}
