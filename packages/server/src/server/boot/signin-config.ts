import { ConfigError, defaultPasswordConcurrency, parseDuration } from 'cloakroom';
import type { Env } from './secrets.js';

/**
 * How many password checks (sign-ins, password changes, new passwords) run at once, how many
 * wait, and for how long; beyond, sign-in answers 503 with Retry-After (docs/configuration.md).
 */
export interface SigninLimit {
  /** `CLOAKROOM_SIGNIN_CONCURRENCY`. */
  concurrency: number;
  /** `CLOAKROOM_SIGNIN_QUEUE`. */
  queue: number;
  /** `CLOAKROOM_SIGNIN_MAX_WAIT`. */
  maxWaitMs: number;
}

/** libuv's largest thread pool: more argon2 at once than threads cannot run anyway. */
const MAX_CONCURRENCY = 1024;
const MAX_QUEUE = 100_000;
const MAX_WAIT_MS = 60_000;

export function loadSigninLimit(env: Env): { signinLimit: SigninLimit } {
  const concurrency = wholeNumber(env, 'CLOAKROOM_SIGNIN_CONCURRENCY', 1, MAX_CONCURRENCY);
  const resolved = concurrency ?? defaultPasswordConcurrency();
  const queue = wholeNumber(env, 'CLOAKROOM_SIGNIN_QUEUE', 0, MAX_QUEUE) ?? 64 * resolved;
  const maxWaitMs = parseDuration(env.CLOAKROOM_SIGNIN_MAX_WAIT || '5s', 'CLOAKROOM_SIGNIN_MAX_WAIT');
  if (maxWaitMs > MAX_WAIT_MS) {
    // A person (or a load balancer) stops waiting long before a minute: past it, an answer is wasted work.
    throw new ConfigError('CLOAKROOM_SIGNIN_MAX_WAIT', 'must not be longer than 60s');
  }
  return { signinLimit: { concurrency: resolved, queue, maxWaitMs } };
}

function wholeNumber(env: Env, variable: string, min: number, max: number): number | null {
  const raw = env[variable];
  if (raw === undefined || raw === '') return null;
  const n = Number(raw.trim());
  if (!/^\s*\d+\s*$/.test(raw) || n < min || n > max) {
    throw new ConfigError(
      variable,
      `must be a whole number from ${min.toLocaleString('en')} to ${max.toLocaleString('en')}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}
