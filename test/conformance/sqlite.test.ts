import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'vitest';
import { createSqliteStore, type SqliteStore } from '../../packages/cloakroom/src/stores/sqlite/index.js';
import {
  counterStoreConformance,
  sessionStoreConformance,
  userStoreConformance,
} from '../../packages/cloakroom/src/testing/index.js';

const t = { describe, test };

// A real file in a fresh directory per test: WAL, the -wal/-shm files and the migrations
// all run as in production, and nothing leaks from one test into the next.
async function openFresh<S>(pick: (store: SqliteStore) => S) {
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-sqlite-'));
  const store = createSqliteStore({ path: join(dir, 'cloakroom.db'), sweepIntervalMs: 0 });
  return {
    store: pick(store),
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

sessionStoreConformance('sqlite', t, () => openFresh((s) => s.sessions));
counterStoreConformance('sqlite', t, () => openFresh((s) => s.counters));
userStoreConformance('sqlite', t, () => openFresh((s) => s.users));
