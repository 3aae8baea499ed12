/**
 * The store of a peer (express-session or @fastify/session, which takes express-session's
 * stores), from BENCH_STORE: `memory` gives `undefined` (the peer's own default in-memory store);
 * `sqlite` is better-sqlite3-session-store on a better-sqlite3 file in BENCH_DATA_DIR with the
 * same journal settings as cloakroom's store; `redis` is connect-redis 9 on REDIS_URL (a
 * node-redis client with default options, as its README shows), keys prefixed `prefix`.
 */
import { join } from 'node:path';
import session from 'express-session';

export async function peerStore(prefix) {
  const kind = process.env.BENCH_STORE ?? 'memory';
  if (kind === 'memory') return undefined;
  if (kind === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const { default: sqliteStore } = await import('better-sqlite3-session-store');
    const SqliteStore = sqliteStore(session);
    const db = new Database(
      join(process.env.BENCH_DATA_DIR ?? '.', `${prefix.replace(/:$/, '')}-sessions.db`),
    );
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    return new SqliteStore({ client: db, expired: { clear: true, intervalMs: 15 * 60 * 1000 } });
  }
  if (kind === 'redis') {
    const { createClient } = await import('redis');
    const { RedisStore } = await import('connect-redis');
    const client = createClient({ url: process.env.REDIS_URL });
    client.on('error', (error) => console.error('redis', error.message));
    await client.connect();
    return new RedisStore({ client, prefix });
  }
  throw new Error(`BENCH_STORE must be memory, sqlite or redis, got ${kind}`);
}
