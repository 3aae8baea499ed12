import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startHarness } from '../support/server.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloakroom-datadir-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const modes = (path: string) =>
  Object.fromEntries(readdirSync(path).map((f) => [f, statSync(join(path, f)).mode & 0o777]));

describe('the data dir holds password hashes: owner-only files', () => {
  test('in a data dir an operator created world-readable, the database and its -wal/-shm files are 0600', async () => {
    // e.g. `mkdir data` with umask 022, or a container volume.
    chmodSync(dir, 0o755);
    const h = await startHarness({ dataDir: dir });
    try {
      await h.login('alice');
      const files = modes(dir);
      expect(Object.keys(files)).toEqual(expect.arrayContaining(['cloakroom.db', 'cloakroom.db-wal']));
      for (const [name, mode] of Object.entries(files)) {
        expect(`${name} ${mode.toString(8)}`).toBe(`${name} 600`);
      }
    } finally {
      await h.close();
    }
  });

  test('a generated development secret is 0600', async () => {
    const dataDir = join(dir, 'fresh');
    const h = await startHarness({ dataDir, env: { CLOAKROOM_SECRETS: '' } });
    try {
      expect(statSync(join(dataDir, 'secret')).mode & 0o777).toBe(0o600);
      expect(statSync(dataDir).mode & 0o077).toBe(0);
    } finally {
      await h.close();
    }
  });
});
