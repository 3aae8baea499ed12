import { describe, test } from 'vitest';
import {
  createMemoryStore,
  createMemoryUserStore,
} from '../../packages/cloakroom/src/stores/memory/index.js';
import {
  counterStoreConformance,
  sessionStoreConformance,
  userStoreConformance,
} from '../../packages/cloakroom/src/testing/index.js';

const t = { describe, test };

sessionStoreConformance('memory', t, async () => {
  const store = createMemoryStore({ sweepIntervalMs: 0 });
  return { store, cleanup: () => store.close() };
});

counterStoreConformance('memory', t, async () => {
  const store = createMemoryStore({ sweepIntervalMs: 0 });
  return { store: store.counters, cleanup: () => store.close() };
});

userStoreConformance('memory', t, async () => ({ store: createMemoryUserStore() }));
