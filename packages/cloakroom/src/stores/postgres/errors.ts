import { StoreError } from '../../core/errors.js';

type StoreKind = 'postgres' | 'session' | 'user' | 'counter';

/**
 * Turns a pg failure (refused connection, pool timeout, a server error) into a `StoreError`
 * code `unavailable` with the original as `cause`: the server answers 503 and no driver error
 * or SQL text escapes.
 */
export function wrapError(kind: StoreKind, operation: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError(`${kind} store: ${operation} failed`, { cause: error });
}

/** SQLSTATE 23505 `unique_violation`: a primary key or UNIQUE value already exists. */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && (error as Error & { code?: unknown }).code === '23505';
}

/** The `conflict` error for an INSERT of something that must be new. */
export function conflictError(kind: StoreKind, what: string, error: unknown): StoreError {
  return new StoreError(`${kind} store: create failed: ${what} already exists`, {
    cause: error,
    code: 'conflict',
  });
}
