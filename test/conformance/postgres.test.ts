import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, test } from 'vitest';
import {
  createPostgresStore,
  type PostgresStore,
} from '../../packages/cloakroom/src/stores/postgres/index.js';
import {
  counterStoreConformance,
  sessionStoreConformance,
  userStoreConformance,
} from '../../packages/cloakroom/src/testing/index.js';
import { requirePostgres } from '../support/services.js';

const t = { describe, test };

// A database of this file's own on the real PostgreSQL (a missing server fails here, with how
// to start it), dropped afterwards. Each test migrates a fresh schema in it and drops that.
const database = await requirePostgres();
afterAll(() => database.drop());

async function openFresh<S>(pick: (store: PostgresStore) => S, cached = false) {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const store = await createPostgresStore({
    pool: database.pool,
    schema,
    sweepIntervalMs: 0,
    ...(cached ? { listener: () => new pg.Client({ connectionString: database.url }) } : {}),
  });
  // With the user cache: only once it listens, so reads are really cached.
  for (let i = 0; cached && !store.cacheStats()?.users.listening; i++) {
    if (i > 1_000) throw new Error('the user cache did not start listening');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return {
    store: pick(store),
    cleanup: async () => {
      await store.close();
      await database.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    },
  };
}

sessionStoreConformance('postgres', t, () => openFresh((s) => s.sessions));
counterStoreConformance('postgres', t, () => openFresh((s) => s.counters));
userStoreConformance('postgres', t, () => openFresh((s) => s.users));
userStoreConformance('postgres (user cache)', t, () => openFresh((s) => s.users, true));
