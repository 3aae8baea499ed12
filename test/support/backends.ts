import { type HarnessOptions, type ServerHarness, startHarness } from './server.js';
import { requirePostgres } from './services.js';

/** Where a server harness keeps its users and sessions. */
export type Backend = 'sqlite' | 'postgres';

/** Both, for suites that must hold on every store a deployment can pick. */
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres'];

/**
 * {@link startHarness} on the chosen backend: the embedded SQLite file, or a fresh PostgreSQL
 * database of its own (`DATABASE_URL`), dropped again on `close()`.
 */
export async function startHarnessOn(backend: Backend, options: HarnessOptions = {}): Promise<ServerHarness> {
  if (backend === 'sqlite') return startHarness(options);
  const db = await requirePostgres();
  let harness: ServerHarness;
  try {
    harness = await startHarness({ ...options, env: { ...options.env, DATABASE_URL: db.url } });
  } catch (error) {
    await db.drop();
    throw error;
  }
  return {
    ...harness,
    async close() {
      try {
        await harness.close();
      } finally {
        await db.drop();
      }
    },
  };
}
