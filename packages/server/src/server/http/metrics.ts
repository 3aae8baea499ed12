import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { CacheSource } from '../boot/stores.js';

/** The server's Prometheus metrics. Labels are fixed vocabularies: never a token or a username. */
export interface Metrics {
  registry: Registry;
  validations: Counter<'result'>;
  logins: Counter<'outcome'>;
  csrfRefusals: Counter<'reason'>;
  storeErrors: Counter;
  forwardAuth: Counter<'result'>;
  passwordRefusals: Counter<'reason'>;
  dbscRegistrations: Counter<'result'>;
  boundRequests: Counter;
  dbscRefreshes: Counter<'result'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cloakroom_' });
  return {
    registry,
    validations: new Counter({
      name: 'cloakroom_session_validations_total',
      help: 'Session validations by result (ok, or the reason there was no session).',
      labelNames: ['result'],
      registers: [registry],
    }),
    logins: new Counter({
      name: 'cloakroom_logins_total',
      help: 'Sign-in attempts by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    csrfRefusals: new Counter({
      name: 'cloakroom_csrf_refusals_total',
      help: 'Unsafe requests refused by the CSRF checks, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'cloakroom_store_errors_total',
      help: 'Requests answered 503 because a store was unreachable.',
      registers: [registry],
    }),
    forwardAuth: new Counter({
      name: 'cloakroom_forward_auth_total',
      help: 'Forward-auth (/auth/verify) answers by result.',
      labelNames: ['result'],
      registers: [registry],
    }),
    passwordRefusals: new Counter({
      name: 'cloakroom_password_checks_refused_total',
      help: 'Password checks (sign-in, password change, new password) refused as busy (503) before they started, by reason (queue_full, timeout).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    dbscRegistrations: new Counter({
      name: 'cloakroom_dbsc_registrations_total',
      help: 'Device-bound session registrations (CLOAKROOM_DBSC=on) by result: bound, or the reason it was refused.',
      labelNames: ['result'],
      registers: [registry],
    }),
    boundRequests: new Counter({
      name: 'cloakroom_bound_requests_total',
      help: 'Requests that came with a device-bound session and its valid bound cookie (CLOAKROOM_DBSC=on).',
      registers: [registry],
    }),
    dbscRefreshes: new Counter({
      name: 'cloakroom_dbsc_refreshes_total',
      help: 'Device-bound session refreshes by result: refreshed, challenged, ended, or the reason it was refused.',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}

type CacheCount = 'hits' | 'misses' | 'evictions' | 'flushes';

/**
 * The stores' read caches as metrics, read from their stats at each scrape:
 * `cloakroom_cache_{hits,misses,evictions,flushes}_total` and `cloakroom_cache_entries` (with
 * `cloakroom_cache_max_entries`), labelled by store (`sqlite`, `redis`, `postgres`) and cache
 * (`sessions`, `users`). The hit rate is hits / (hits + misses).
 */
export function registerCacheMetrics(registry: Registry, sources: readonly CacheSource[]): void {
  const counts: Array<[CacheCount, string]> = [
    ['hits', 'Reads answered from the read cache.'],
    [
      'misses',
      'Reads that went to the store (not cached, or the cache could not be trusted at that moment).',
    ],
    ['evictions', 'Cached rows dropped to stay within CLOAKROOM_CACHE_ENTRIES.'],
    ['flushes', 'Times the whole cache was dropped because another process or instance changed the data.'],
  ];
  for (const [field, help] of counts) {
    new Counter({
      name: `cloakroom_cache_${field}_total`,
      help,
      labelNames: ['store', 'cache'],
      registers: [registry],
      collect() {
        this.reset();
        for (const source of sources) {
          const stats = source.stats();
          if (stats) this.inc({ store: source.store, cache: source.cache }, stats[field]);
        }
      },
    });
  }
  const gauge = (
    name: string,
    help: string,
    read: (s: NonNullable<ReturnType<CacheSource['stats']>>) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['store', 'cache'],
      registers: [registry],
      collect() {
        for (const source of sources) {
          const stats = source.stats();
          if (stats) this.set({ store: source.store, cache: source.cache }, read(stats));
        }
      },
    });
  gauge('cloakroom_cache_entries', 'Rows held in the read cache now.', (s) => s.size);
  gauge(
    'cloakroom_cache_max_entries',
    'The bound of the read cache (CLOAKROOM_CACHE_ENTRIES).',
    (s) => s.maxEntries,
  );
}
