/**
 * Misuse of the library: a bad option, a weak secret. Thrown at start-up, never per request.
 * `option` names the setting to fix; callers branch on `code`, never on the message.
 */
export class ConfigError extends Error {
  readonly code = 'config' as const;
  readonly option: string;
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super(`${option}: ${message}`, options);
    this.name = 'ConfigError';
    this.option = option;
  }
}

/**
 * A store could not be reached or answered with an error. The server turns this into
 * `503 unavailable` (fail closed); the original driver error is kept in `cause`.
 * `code` is `unavailable` for connectivity/driver failures and `conflict` when a record that
 * must be new already exists.
 */
export class StoreError extends Error {
  readonly code: 'unavailable' | 'conflict';
  constructor(message: string, options: { cause?: unknown; code?: 'unavailable' | 'conflict' } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.code = options.code ?? 'unavailable';
  }
}

/** Wraps any driver error into a {@link StoreError}, leaving StoreErrors as they are. */
export function toStoreError(operation: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError(`session store: ${operation} failed`, { cause: error });
}
