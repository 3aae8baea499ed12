import { type Duration, parseDuration } from '../core/duration.js';
import { StoreError } from '../core/errors.js';

/**
 * `promise`, or a `StoreError` (code `unavailable`) once `ms` have passed without an answer.
 *
 * Why a timer of our own: a store that hangs without closing its connection (a paused or
 * overloaded server, a network partition) never makes the driver fail. node-redis drops its
 * command timeout as soon as a command is written to the socket, and a socket idle timeout
 * is reset by every new command written, so under traffic neither fires. One plain timer per
 * call costs well under a microsecond (an `AbortSignal.timeout()` costs tens of times more).
 * The driver's own call is left to finish or fail by itself; its late answer is dropped.
 * Shared by the network stores (Redis, PostgreSQL); SQLite's calls are synchronous.
 */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new StoreError(`${what}: no answer within ${ms} ms`, { code: 'unavailable' })),
      ms,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * A copy of `store` whose every method answers within `ms` (see {@link within}). Stores are
 * plain objects of async methods, so wrapping each own method is all it takes.
 */
export function withDeadline<T extends object>(store: T, ms: number, name: string): T {
  const wrapped = { ...store } as Record<string, unknown>;
  for (const [key, value] of Object.entries(store)) {
    if (typeof value !== 'function') continue;
    const method = value as (...args: unknown[]) => Promise<unknown>;
    const what = `${name}.${key}`;
    wrapped[key] = (...args: unknown[]) => within(method.apply(store, args), ms, what);
  }
  return wrapped as T;
}

/** The default of the network stores' `timeout` option. */
export const DEFAULT_STORE_TIMEOUT = '2s';

/** Resolves a store's `timeout` option to ms, or `null` when turned off with `false`. */
export function resolveTimeout(value: Duration | false | undefined, option = 'timeout'): number | null {
  if (value === false) return null;
  return parseDuration(value ?? DEFAULT_STORE_TIMEOUT, option);
}

/** {@link withDeadline}, or `store` itself when the deadline is off. */
export function bounded<T extends object>(store: T, ms: number | null, name: string): T {
  return ms === null ? store : withDeadline(store, ms, name);
}
