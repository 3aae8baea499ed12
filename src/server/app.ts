import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { CloakroomEnv } from '../adapters/hono/index.js';
import { StoreError } from '../core/errors.js';
import { MAX_BODY_BYTES } from './body.js';
import type { App, ServerDeps } from './context.js';
import { ApiError, errorResponse } from './http.js';
import { audit } from './logger.js';
import { accountRoutes } from './routes/account.js';
import { adminRoutes } from './routes/admin.js';
import { loginRoutes } from './routes/login.js';
import { opsRoutes } from './routes/ops.js';
import { verifyRoutes } from './routes/verify.js';

/**
 * The login service: the JSON API of DESIGN.md on the Hono adapter. Every answer a client
 * can provoke is a 2xx, 3xx or 4xx with `{"error","message"}`; a store outage is 503.
 */
export function createApp(deps: ServerDeps): App {
  const { auth, logger, metrics } = deps;
  const app = new Hono<CloakroomEnv>();

  app.use(async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'no-referrer');
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  });

  // Health and metrics never depend on the session store: /healthz stays 200 during an outage.
  opsRoutes(app, deps);

  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        errorResponse(c, 'payload_too_large', `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`),
    }),
  );
  app.use(auth.middleware);
  app.use(async (c, next) => {
    metrics.validations.inc({ result: c.var.authReason ?? 'ok' });
    await next();
  });
  // Sign-in has its own login-CSRF checks and replaces whatever session it came with,
  // so it is registered before the session CSRF guard.
  loginRoutes(app, deps);
  app.use(auth.csrf());
  accountRoutes(app, deps);
  adminRoutes(app, deps);
  verifyRoutes(app, deps);

  app.notFound((c) => errorResponse(c, 'not_found', 'No such route.'));
  app.onError((error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error.code, error.message, error.headers);
    if (error instanceof StoreError) {
      metrics.storeErrors.inc();
      audit(logger, 'store.unavailable', { route: c.req.routePath, cause: error.message });
      return errorResponse(c, 'unavailable', 'A store is unavailable; try again shortly.');
    }
    logger.error({ err: error, route: c.req.routePath }, 'unhandled error');
    return c.json({ error: 'internal', message: 'Something went wrong.' }, 500);
  });
  return app;
}
