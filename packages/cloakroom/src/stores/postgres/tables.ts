import { ConfigError } from '../../core/errors.js';

/** Schema-qualified, quoted table names, built once from the `schema` option. */
export interface Tables {
  schema: string;
  sessions: string;
  users: string;
  counters: string;
  migrations: string;
}

// Every table name starts with `cloakroom_`: the default schema is `public`, where an
// application's own `users` or `sessions` table may well exist already.
const NAMES = {
  sessions: 'cloakroom_sessions',
  users: 'cloakroom_users',
  counters: 'cloakroom_counters',
  migrations: 'cloakroom_migrations',
} as const;

/** A plain identifier only: it is spliced into SQL (identifiers cannot be bound parameters). */
export function tablesIn(schema: string): Tables {
  if (typeof schema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError(
      'schema',
      `must be a lower-case SQL identifier (letters, digits, _; at most 63), got ${JSON.stringify(schema)}`,
    );
  }
  const q = (table: string) => `"${schema}"."${table}"`;
  return {
    schema,
    sessions: q(NAMES.sessions),
    users: q(NAMES.users),
    counters: q(NAMES.counters),
    migrations: q(NAMES.migrations),
  };
}
