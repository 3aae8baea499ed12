import type { CounterStore, Session } from 'cloakroom';
import {
  type Clock,
  ConfigError,
  createSecondFactor,
  createSessions,
  createThrottle,
  systemClock,
} from 'cloakroom';
import { createHonoAuth, type Refusal } from 'cloakroom/hono';
import { createPasskeys, type Passkeys } from 'cloakroom/passkeys';
import { createPasswordHasher, limitPasswordHasher, type PasswordHasher } from 'cloakroom/passwords';
import type { Logger } from 'pino';
import { busyReporter } from '../http/busy.js';
import type { ServerDeps } from '../http/context.js';
import { recordDbsc } from '../http/dbsc-events.js';
import { errorResponse } from '../http/errors.js';
import { audit } from '../http/logger.js';
import { createMetrics, registerCacheMetrics } from '../http/metrics.js';
import { isApiPath, pageError, pageRefusal } from '../web/refusals.js';
import type { ServerConfig } from './config.js';
import { openStores } from './stores.js';

export { databasePath } from './stores.js';

/** The API's message for each refusal of a guard. */
const REFUSAL_MESSAGES: Record<Refusal['error'], string> = {
  unauthenticated: 'Sign in first.',
  forbidden: 'You do not have the role this needs.',
  csrf: 'This request failed the cross-site request forgery check.',
  reauth_required:
    'Confirm it is you first: POST /api/reauth with your password (and code, if you use one), then retry.',
};

/** What a test may put in place of the real parts. */
export interface DepsOverrides {
  /** The hasher underneath the sign-in limit (default: argon2id, `createPasswordHasher`). */
  passwords?: PasswordHasher;
}

/** Opens the stores the configuration names and wires the core, auth and adapter. */
export async function createDeps(
  config: ServerConfig,
  logger: Logger,
  clock: Clock = systemClock,
  overrides: DepsOverrides = {},
): Promise<ServerDeps> {
  // One line, before the stores open: a server that starts without passkeys says why.
  if (config.passkeysWarning) logger.warn({ event: 'passkeys.off' }, config.passkeysWarning);
  const store = await openStores(config, logger, clock);
  let passkeys: { passkeys?: Passkeys };
  try {
    passkeys = passkeysFor(config, store.counters);
  } catch (error) {
    await store.close();
    throw error;
  }
  const metrics = createMetrics();
  registerCacheMetrics(metrics.registry, store.caches);
  const sessions = createSessions({
    secrets: config.secrets,
    store: store.sessions,
    clock,
    idleTimeout: config.idleTimeoutMs / 1000,
    absoluteTimeout: config.absoluteTimeoutMs / 1000,
    rememberTimeout: config.rememberTimeoutMs / 1000,
    rememberIdleTimeout: config.rememberIdleTimeoutMs / 1000,
    touchInterval: config.touchIntervalMs / 1000,
    reauthWindow: config.reauthWindowMs / 1000,
    cookie: { secure: config.cookieSecure, sameSite: config.cookieSameSite },
    trustedOrigins: config.trustedOrigins,
    // The stylesheet needs no proof of the device: the browser fetches it without waiting for a
    // refresh of the bound cookie.
    ...(config.dbsc ? { dbsc: { excludePaths: ['/assets/'] } } : {}),
  });
  const auth = createHonoAuth({
    sessions,
    users: store.users,
    trustProxy: config.trustProxy,
    // Every answer of the server is already no-store (security-headers.ts).
    noStore: false,
    onDbsc: (event) => recordDbsc(logger, metrics, event),
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
      const session = c.get('session' as never) as Session | null | undefined;
      if (refusal.error === 'csrf') {
        metrics.csrfRefusals.inc({ reason: refusal.reason });
        // Whose session the forged request rode on (public id: never a credential).
        audit(logger, 'csrf.refused', {
          route: c.req.path,
          reason: refusal.reason,
          ...(session ? { userId: session.userId, session: session.id } : {}),
        });
      }
      if (!isApiPath(c.req.path)) {
        return pageRefusal(c, refusal, session ? sessions.csrfToken(session) : undefined);
      }
      return errorResponse(c, refusal.error, REFUSAL_MESSAGES[refusal.error]);
    },
  });
  // Every password check of the server (sign-in, password change, new passwords) shares one
  // limit: argon2 on a flood of sign-ins must leave the CPU to signed-in users' requests.
  const { concurrency, queue, maxWaitMs } = config.signinLimit;
  const passwords = limitPasswordHasher(overrides.passwords ?? createPasswordHasher({ limit: false }), {
    concurrency,
    queue,
    maxWait: maxWaitMs / 1000,
    onRefused: busyReporter(logger, metrics, config.signinLimit),
  });
  const throttle = createThrottle({
    counters: store.counters,
    clock,
    account: { failures: config.throttleAccount.failures, window: config.throttleAccount.windowMs / 1000 },
    ip: { failures: config.throttleIp.failures, window: config.throttleIp.windowMs / 1000 },
  });
  return {
    config,
    sessions,
    users: store.users,
    counters: store.counters,
    passwords,
    throttle,
    account: {
      users: store.users,
      sessions,
      passwords,
      throttle,
      clock,
      audit: (event, fields) => audit(logger, event, fields),
      // TOTP keys sealed with keys derived from the same keyring, so they stay readable across a
      // rotation; single use of codes and pending sign-ins counted in the shared counter store.
      secondFactor: createSecondFactor({ secrets: config.secrets, counters: store.counters }),
      // Challenges in the same shared counter store: a ceremony begun on one instance finishes
      // on any other. Absent when passkeys are off, and then no passkey route is mounted.
      ...passkeys,
    },
    auth,
    logger,
    metrics,
    clock,
    storeDescription: store.description,
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

/**
 * The relying party of `config.passkeys`, or nothing. The configuration has already checked what
 * `createPasskeys` checks; should it still refuse, the error names the variable to fix.
 */
function passkeysFor(config: ServerConfig, counters: CounterStore): { passkeys?: Passkeys } {
  if (!config.passkeys) return {};
  try {
    return { passkeys: createPasskeys({ ...config.passkeys, counters }) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const variable = error.option === 'rpId' ? 'CLOAKROOM_PASSKEY_RP_ID' : 'CLOAKROOM_PUBLIC_URL';
    throw new ConfigError(variable, error.message.slice(error.option.length + 2), { cause: error });
  }
}
