import { StoreError } from '../../core/errors.js';

type StoreKind = 'redis' | 'session' | 'counter';

/**
 * Turns any client failure (connection refused, offline queue disabled, timeout, a script
 * error) into a `StoreError` code `unavailable` with the original as `cause`: the server
 * answers 503 and no raw client error ever escapes.
 */
export function wrapError(kind: StoreKind, operation: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError(`${kind} store: ${operation} failed`, { cause: error });
}

/** The `conflict` error for a create of a session id that exists. */
export function conflictError(kind: StoreKind, what: string): StoreError {
  return new StoreError(`${kind} store: create failed: ${what} already exists`, { code: 'conflict' });
}

/** Redis forgot the script (restart, `SCRIPT FLUSH`, a fail-over): send its source once. */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
