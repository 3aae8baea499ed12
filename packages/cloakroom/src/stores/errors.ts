import { StoreError } from '../core/errors.js';

/** The drivers behind the stores: better-sqlite3, pg, node-redis. */
export type Driver = 'sqlite' | 'postgres' | 'redis';

/**
 * Per driver, the `code` its error carries when an INSERT hit an existing primary key or UNIQUE
 * value. Plain strings, so this module loads no driver (each store entry point imports only its
 * own, and better-sqlite3 is an optional peer dependency).
 */
const UNIQUE_VIOLATION: Readonly<Record<Driver, readonly unknown[]>> = {
  // better-sqlite3's SqliteError: SQLite's extended result code.
  sqlite: ['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE'],
  // pg's DatabaseError: the SQLSTATE, 23505 `unique_violation`.
  postgres: ['23505'],
  // Redis has no constraints: the create script answers 0 and the store throws `conflict` itself.
  redis: [],
};

const isUniqueViolation = (driver: Driver, error: unknown): boolean =>
  error instanceof Error && UNIQUE_VIOLATION[driver].includes((error as Error & { code?: unknown }).code);

/** What a failure's message names: `session store: get failed`, `sqlite store: open failed`. */
export type StoreName = 'session' | 'user' | 'counter' | Driver;

/**
 * A driver failure as the `StoreError` code `unavailable` the server answers 503 for, the driver's
 * error kept as `cause` (never in the message: no driver text or SQL escapes). A StoreError is
 * returned as it is: it already says what went wrong.
 */
export function storeFailure(store: StoreName, operation: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError(`${store} store: ${operation} failed`, { cause: error });
}

/** The `conflict` error of a create whose record must be new: `what` already exists. */
export function conflictError(
  store: StoreName,
  operation: string,
  what: string,
  cause?: unknown,
): StoreError {
  return new StoreError(`${store} store: ${operation} failed: ${what} already exists`, {
    cause,
    code: 'conflict',
  });
}

/** How {@link guarded} describes a store's failures. */
export interface Guard {
  /** Whose errors to classify. */
  driver: Driver;
  /** The store named in each message. */
  store: StoreName;
  /**
   * The methods that insert something that must be new, with what it is (`a session with this
   * id`): a unique violation there is a `conflict`. Anywhere else it is `unavailable`.
   */
  creates?: Readonly<Record<string, string>>;
}

function failure(guard: Guard, operation: string, error: unknown): StoreError {
  const what = guard.creates?.[operation];
  if (what !== undefined && isUniqueViolation(guard.driver, error)) {
    return conflictError(guard.store, operation, what, error);
  }
  return storeFailure(guard.store, operation, error);
}

/**
 * Each wrapper passes exactly this many arguments, the most a store method takes
 * (`UserStore.update`): no rest array is built per call. Missing ones arrive as `undefined`,
 * which is what an omitted argument is (default parameters apply).
 */
const ARITY = 4;

type Method = (this: unknown, a?: unknown, b?: unknown, c?: unknown, d?: unknown) => unknown;
type Wrapper = (method: Method, store: object, fail: (error: unknown) => StoreError) => Method;

function wrapEach(store: object, guard: Guard, wrap: Wrapper): Record<string, unknown> {
  const wrapped: Record<string, unknown> = { ...store };
  for (const [key, value] of Object.entries(store)) {
    if (typeof value !== 'function') continue;
    if (value.length > ARITY) throw new Error(`guarded: ${key}() takes more than ${ARITY} parameters`);
    wrapped[key] = wrap(value as Method, store, (error) => failure(guard, key, error));
  }
  return wrapped;
}

/**
 * A copy of `store` (async methods, a network driver) whose every method rejects with a
 * `StoreError` only: a driver error becomes `<store> store: <method> failed` (code
 * `unavailable`, or `conflict` for a unique violation in a method of `creates`) with the
 * driver's error as `cause`; a StoreError the store throws itself, and every result, pass
 * unchanged. Wrapped once, at construction, like `withDeadline` in deadline.ts.
 */
export function guarded<T extends object>(store: T, guard: Guard): T {
  return wrapEach(store, guard, (method, self, fail) => async (a, b, c, d) => {
    try {
      return await method.call(self, a, b, c, d);
    } catch (error) {
      throw fail(error);
    }
  }) as T;
}

/** `T` with each async method answering synchronously: what a store on better-sqlite3 implements. */
export type Synchronous<T> = {
  [K in keyof T]: T[K] extends ((...args: infer A) => Promise<infer R>) | undefined
    ? (...args: A) => R
    : T[K];
};

/**
 * {@link guarded} for a store whose methods are synchronous (better-sqlite3): each becomes the
 * async method of `T`, and a driver error thrown during the call becomes the same StoreError.
 * A call costs what an `async` method with a try/catch costs, the store's own code unchanged:
 * one promise, no `await`, no allocation of its own.
 */
export function guardedSync<T extends object>(store: Synchronous<T>, guard: Guard): T {
  return wrapEach(store, guard, (method, self, fail) => async (a, b, c, d) => {
    try {
      return method.call(self, a, b, c, d);
    } catch (error) {
      throw fail(error);
    }
  }) as T;
}
