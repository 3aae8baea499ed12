import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createHonoAuth } from '../adapters/hono/index.js';
import { createPasswordHasher } from '../auth/passwords.js';
import { createThrottle } from '../auth/throttle.js';
import { type Clock, systemClock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import type { Session } from '../core/session.js';
import { createSessions } from '../core/sessions.js';
import { createSqliteStore } from '../stores/sqlite/index.js';
import type { ServerConfig } from './config.js';
import type { ServerDeps } from './context.js';
import { errorResponse } from './http.js';
import { audit } from './logger.js';
import { createMetrics } from './metrics.js';
import { isApiPath, pageError, pageRefusal } from './pages/refusals.js';

/** The SQLite file inside the data dir. */
export function databasePath(config: ServerConfig): string {
  return join(config.dataDir, 'cloakroom.db');
}

/** Opens the stores the configuration names and wires the core, auth and adapter. */
export function createDeps(config: ServerConfig, logger: Logger, clock: Clock = systemClock): ServerDeps {
  if (config.redisUrl) {
    throw new ConfigError(
      'REDIS_URL',
      'the Redis store is not part of this release yet; unset it to use the embedded SQLite store',
    );
  }
  if (config.databaseUrl) {
    throw new ConfigError(
      'DATABASE_URL',
      'the PostgreSQL store is not part of this release yet; unset it to use the embedded SQLite store',
    );
  }
  // Readers never wait in WAL; a writer waits at most 2 s for another process's lock, so a
  // stuck database answers 503 quickly instead of hanging requests.
  // The database holds password hashes: owner-only, whatever the umask.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = createSqliteStore({
    path: databasePath(config),
    clock,
    busyTimeoutMs: 2_000,
    onSweepError: (error) => logger.warn({ event: 'sweep.failed', cause: error.message }, 'sweep failed'),
  });
  chmodSync(databasePath(config), 0o600);
  const metrics = createMetrics();
  const sessions = createSessions({
    secrets: config.secrets,
    store: store.sessions,
    clock,
    idleTimeout: config.idleTimeoutMs / 1000,
    absoluteTimeout: config.absoluteTimeoutMs / 1000,
    rememberTimeout: config.rememberTimeoutMs / 1000,
    rememberIdleTimeout: config.rememberIdleTimeoutMs / 1000,
    touchInterval: config.touchIntervalMs / 1000,
    cookie: { secure: config.cookieSecure, sameSite: config.cookieSameSite },
    trustedOrigins: config.trustedOrigins,
  });
  const auth = createHonoAuth({
    sessions,
    users: store.users,
    trustProxy: config.trustProxy,
    onUnavailable: (c, error) => {
      metrics.storeErrors.inc();
      audit(logger, 'store.unavailable', { route: c.req.path, cause: error.message });
      if (!isApiPath(c.req.path)) {
        return pageError(
          c,
          503,
          'Briefly unavailable',
          'The service cannot reach its store. Please try again in a moment.',
        );
      }
      return errorResponse(c, 'unavailable', 'A store is unavailable; try again shortly.');
    },
    onRefused: (c, refusal) => {
      if (refusal.error === 'csrf') metrics.csrfRefusals.inc({ reason: refusal.reason });
      if (refusal.error === 'csrf')
        audit(logger, 'csrf.refused', { route: c.req.path, reason: refusal.reason });
      if (!isApiPath(c.req.path)) {
        const session = c.get('session' as never) as Session | null | undefined;
        return pageRefusal(c, refusal, session ? sessions.csrfToken(session) : undefined);
      }
      const message =
        refusal.error === 'unauthenticated'
          ? 'Sign in first.'
          : refusal.error === 'forbidden'
            ? 'You do not have the role this needs.'
            : 'This request failed the cross-site request forgery check.';
      return errorResponse(c, refusal.error, message);
    },
  });
  return {
    config,
    sessions,
    users: store.users,
    counters: store.counters,
    passwords: createPasswordHasher(),
    throttle: createThrottle({
      counters: store.counters,
      clock,
      account: { failures: config.throttleAccount.failures, window: config.throttleAccount.windowMs / 1000 },
      ip: { failures: config.throttleIp.failures, window: config.throttleIp.windowMs / 1000 },
    }),
    auth,
    logger,
    metrics,
    clock,
    async ping() {
      // Both interfaces must answer: sessions for every request, users for every signed-in one.
      await store.sessions.ping();
      await store.users.count();
    },
    close: () => store.close(),
  };
}
