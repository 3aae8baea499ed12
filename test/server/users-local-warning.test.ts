import { afterAll, describe, expect, test } from 'vitest';
import { type ServerHarness, startHarness } from '../support/server.js';
import { REDIS_URL, requirePostgres, requireRedis } from '../support/services.js';

// REDIS_URL without DATABASE_URL shares sessions across instances but leaves each with its own
// SQLite users: a silent split, unless the server says so at start-up.
const warnings = (h: ServerHarness) => h.logs.filter((l) => l.event === 'stores.users-local');

const redis = await requireRedis();
afterAll(() => redis.close());

describe('start-up warning: users stay local when only REDIS_URL is set', () => {
  test('REDIS_URL without DATABASE_URL logs one stores.users-local warning naming DATABASE_URL', async () => {
    const h = await startHarness({ env: { REDIS_URL }, users: false });
    try {
      const lines = warnings(h);
      expect(lines).toHaveLength(1);
      expect(lines[0]?.level).toBe('warn');
      expect(lines[0]?.msg).toMatch(/DATABASE_URL/);
      expect(lines[0]?.msg).toMatch(/own SQLite/);
      expect(h.logText()).not.toContain(REDIS_URL);
    } finally {
      await h.close();
    }
  });

  test('no warning with SQLite alone, nor with REDIS_URL and DATABASE_URL together', async () => {
    const sqlite = await startHarness({ users: false });
    try {
      expect(warnings(sqlite)).toEqual([]);
    } finally {
      await sqlite.close();
    }
    const database = await requirePostgres();
    try {
      const both = await startHarness({ env: { REDIS_URL, DATABASE_URL: database.url }, users: false });
      try {
        expect(warnings(both)).toEqual([]);
      } finally {
        await both.close();
      }
    } finally {
      await database.drop();
    }
  });
});
