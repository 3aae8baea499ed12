import Database from 'better-sqlite3';
import { StoreError } from '../../core/errors.js';

type StoreKind = 'sqlite' | 'session' | 'user' | 'counter';

/**
 * Turns a driver exception into a `StoreError` (code `unavailable`, original kept as `cause`),
 * so callers branch on `code` and the server answers 503, never with driver text. Like
 * `toStoreError`, but naming the right store in the message.
 */
export function wrapError(kind: StoreKind, operation: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError(`${kind} store: ${operation} failed`, { cause: error });
}

/** Whether the driver refused an INSERT because a primary key or UNIQUE value already exists. */
export function isUniqueViolation(error: unknown): boolean {
  return (
    error instanceof Database.SqliteError &&
    (error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || error.code === 'SQLITE_CONSTRAINT_UNIQUE')
  );
}

/** The `conflict` error for an INSERT of something that must be new. */
export function conflictError(kind: StoreKind, what: string, error: unknown): StoreError {
  return new StoreError(`${kind} store: create failed: ${what} already exists`, {
    cause: error,
    code: 'conflict',
  });
}
