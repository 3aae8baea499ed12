import { availableParallelism } from 'node:os';
import { type Duration, parseDuration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import type { PasswordCheck, PasswordHasher } from './types.js';

/**
 * How many password hashes and verifications may run at once, and how many may wait for a place.
 * Every call takes a place; beyond `concurrency` it waits in line, beyond `queue` waiting calls
 * (or after `maxWait` in line) it is refused with {@link PasswordsBusyError}.
 */
export interface PasswordLimitOptions {
  /** Hashes and verifications running at once. Default {@link defaultPasswordConcurrency}. */
  concurrency?: number;
  /** Calls that may wait for a place; one more is refused at once. `0`: none wait. Default 64 × `concurrency`. */
  queue?: number;
  /** Longest a call waits in line before it is refused. Default `5s`. */
  maxWait?: Duration;
  /** Told of every refusal (metrics, a log line per burst). Must not throw. */
  onRefused?: (refusal: PasswordRefusal) => void;
}

/** Why a password call was refused: the line was full, or its wait ran out. */
export type PasswordRefusalReason = 'queue_full' | 'timeout';

export interface PasswordRefusal {
  reason: PasswordRefusalReason;
  /** When a retry has a fair chance: the time the calls ahead of it need, in whole seconds (≥ 1). */
  retryAfterSeconds: number;
}

/**
 * A password hash or verification refused before it started: the machine is already doing as
 * many as it can. Nothing was checked or stored; retry after `retryAfterSeconds`.
 */
export class PasswordsBusyError extends Error {
  readonly reason: PasswordRefusalReason;
  readonly retryAfterSeconds: number;
  constructor(refusal: PasswordRefusal) {
    super(
      refusal.reason === 'queue_full'
        ? 'too many password checks are waiting; try again shortly'
        : 'a password check waited too long for its turn; try again shortly',
    );
    this.name = 'PasswordsBusyError';
    this.reason = refusal.reason;
    this.retryAfterSeconds = refusal.retryAfterSeconds;
  }
}

/** What the limit is doing now. */
export interface PasswordLimitState {
  running: number;
  waiting: number;
  concurrency: number;
  queue: number;
}

/** A hasher behind a limit: the usual methods, plus what the limit is doing. */
export interface LimitedPasswordHasher extends PasswordHasher {
  refusal(): PasswordsBusyError | null;
  /** Places taken and calls waiting now. */
  state(): PasswordLimitState;
}

/**
 * The default number of password operations at once: one fewer than the CPUs this process may
 * use (one stays for the event loop, which serves every other request), and one fewer than
 * libuv's thread pool (`UV_THREADPOOL_SIZE`, default 4), where argon2 runs beside file and DNS
 * work; at least 1.
 */
export function defaultPasswordConcurrency(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE);
  const threads = Number.isInteger(pool) && pool >= 1 ? Math.min(pool, 1024) : 4;
  return Math.max(1, Math.min(availableParallelism() - 1, threads - 1));
}

interface Waiter {
  start(): void;
  timer: ReturnType<typeof setTimeout>;
}

/** The first estimate of one operation's time, before any has finished (argon2id at the floor: ~20 ms). */
const FIRST_ESTIMATE_MS = 50;

/**
 * Puts `hasher` behind a limit: at most `concurrency` of its calls run at once, at most `queue`
 * wait (first come, first served), none waits longer than `maxWait`; others are refused with
 * {@link PasswordsBusyError} before they start. Argon2 is CPU work on libuv's thread pool: without
 * a limit, a burst of sign-ins starts them all at once, each gets a sliver of the CPUs, all finish
 * late together, and the event loop that answers every other request waits behind them.
 * `verifyDummy` (unknown users) takes a place like `verify`, so a refusal tells nothing about an
 * account.
 */
export function limitPasswordHasher(
  hasher: PasswordHasher,
  options: PasswordLimitOptions = {},
): LimitedPasswordHasher {
  const concurrency = options.concurrency ?? defaultPasswordConcurrency();
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new ConfigError('passwords.concurrency', 'must be a whole number ≥ 1');
  const queue = options.queue ?? 64 * concurrency;
  if (!Number.isInteger(queue) || queue < 0)
    throw new ConfigError('passwords.queue', 'must be a whole number ≥ 0');
  const maxWaitMs = parseDuration(options.maxWait ?? '5s', 'passwords.maxWait');
  const { onRefused } = options;

  let running = 0;
  const line: Waiter[] = [];
  // A moving average of how long one operation takes, for Retry-After.
  let averageMs = FIRST_ESTIMATE_MS;

  const retryAfterSeconds = () =>
    Math.min(60, Math.max(1, Math.ceil(((running + line.length) * averageMs) / concurrency / 1000)));

  const refusal = (reason: PasswordRefusalReason) => {
    const refused = { reason, retryAfterSeconds: retryAfterSeconds() };
    try {
      onRefused?.(refused);
    } catch {
      // a listener's failure is not the caller's
    }
    return new PasswordsBusyError(refused);
  };

  /** Resolves once a place is held; the caller must `leave()` after. */
  const enter = (): Promise<void> => {
    if (running < concurrency) {
      running++;
      return Promise.resolve();
    }
    if (line.length >= queue) return Promise.reject(refusal('queue_full'));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        start: resolve,
        timer: setTimeout(() => {
          const at = line.indexOf(waiter);
          if (at !== -1) line.splice(at, 1);
          reject(refusal('timeout'));
        }, maxWaitMs),
      };
      line.push(waiter);
    });
  };

  const leave = (): void => {
    const next = line.shift();
    if (next) {
      // The place passes straight to the first in line: nobody can overtake it.
      clearTimeout(next.timer);
      next.start();
    } else {
      running--;
    }
  };

  const limited = async <T>(work: () => Promise<T>): Promise<T> => {
    await enter();
    const started = performance.now();
    try {
      return await work();
    } finally {
      averageMs += (performance.now() - started - averageMs) / 8;
      leave();
    }
  };

  return {
    hash: (password) => limited(() => hasher.hash(password)),
    verify: (stored, password): Promise<PasswordCheck> => limited(() => hasher.verify(stored, password)),
    verifyDummy: (password) => limited(() => hasher.verifyDummy(password)),
    refusal: () => (running >= concurrency && line.length >= queue ? refusal('queue_full') : null),
    state: () => ({ running, waiting: line.length, concurrency, queue }),
  };
}
