import { createHash } from 'node:crypto';

/** One statement as pg takes it; `name` makes pg prepare it once per connection. */
export interface PgQuery {
  name?: string;
  text: string;
  values?: unknown[];
}

/** What a pg query resolves to (the part this store reads). */
export interface PgResult {
  rows: unknown[];
  rowCount: number | null;
}

/** A connection checked out of the pool (a transaction needs one connection throughout). */
export interface PgClientLike {
  query(query: PgQuery): Promise<PgResult>;
  /** pg: a truthy argument destroys the connection instead of returning it to the pool. */
  release(destroy?: boolean | Error): void;
}

/**
 * The part of a `pg.Pool` this store uses. Structural, so `cloakroom/postgres` needs neither
 * `pg` nor `@types/pg` to load: the caller's own pool is all it ever touches. The store never
 * creates, configures or ends a pool.
 */
export interface PgPoolLike {
  query(query: PgQuery): Promise<PgResult>;
  connect(): Promise<PgClientLike>;
}

/** What a statement runs on: the pool, or one connection checked out of it. */
export type Queryable = Pick<PgPoolLike, 'query'>;

/**
 * Runs `body` in a transaction on one connection of the pool: COMMIT if it resolves, ROLLBACK
 * if it throws. A connection whose ROLLBACK fails too is destroyed rather than returned, so
 * the next caller never inherits an aborted transaction.
 */
export async function transaction<T>(pool: PgPoolLike, body: (client: Queryable) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query({ text: 'BEGIN' });
    const result = await body(client);
    await client.query({ text: 'COMMIT' });
    return result;
  } catch (error) {
    await client.query({ text: 'ROLLBACK' }).catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** A named statement: prepared once per pooled connection, then only bound and executed. */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

/**
 * Names the statement after a hash of its text: the name is unique per text (pg refuses one
 * name for two texts on a connection), fits PostgreSQL's 63-byte identifier limit whatever
 * the schema name, and two stores on one pool with different schemas never collide.
 */
export function statement(text: string): Statement {
  return { name: `cloakroom_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`, text };
}

/** Runs a prepared statement with these values. */
export function execute(on: Queryable, { name, text }: Statement, values: unknown[]): Promise<PgResult> {
  return on.query({ name, text, values });
}

/**
 * A BIGINT column as a number. pg hands int8 back as a string (it can exceed 2^53); our
 * values are epoch milliseconds and durations, far below that. Parsing here instead of
 * changing pg's global type parser leaves the caller's pool as they configured it.
 */
export const int = (value: unknown): number => Number(value);
