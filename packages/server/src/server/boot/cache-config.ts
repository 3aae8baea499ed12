import { ConfigError } from 'cloakroom';
import type { Env } from './secrets.js';

/** The largest read cache the server accepts, per cache (sessions, users). */
const MAX_CACHE_ENTRIES = 10_000_000;

/**
 * `CLOAKROOM_CACHE_ENTRIES`: how many sessions and how many users each store keeps in memory,
 * read by id (default 10,000 each; `0` turns the caches off). The caches are never stale (see
 * docs/performance.md, "The read cache"); the bound is what they may cost in memory.
 */
export function loadCacheConfig(env: Env): { cacheEntries: number } {
  const raw = env.CLOAKROOM_CACHE_ENTRIES;
  if (raw === undefined || raw.trim() === '') return { cacheEntries: 10_000 };
  const n = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || n > MAX_CACHE_ENTRIES) {
    throw new ConfigError(
      'CLOAKROOM_CACHE_ENTRIES',
      `must be a whole number from 0 to ${MAX_CACHE_ENTRIES.toLocaleString('en')}, got ${JSON.stringify(raw)}`,
    );
  }
  return { cacheEntries: n };
}
