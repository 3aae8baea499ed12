import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { type ServerHarness, sessionCookieOf, startHarness, TEST_SECRET } from '../support/server.js';

const NEW_SECRET = 'k8mhb0Qf1W3cXh7VYqNw2sJ5tPzL9aRdEoGiUuC4y6M';
let dir: string;
const open: ServerHarness[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloakroom-restart-'));
});
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(secrets: string, users = false): Promise<ServerHarness> {
  const h = await startHarness({ dataDir: dir, users, env: { CLOAKROOM_SECRETS: secrets } });
  open.push(h);
  return h;
}

async function stop(h: ServerHarness): Promise<void> {
  open.splice(open.indexOf(h), 1);
  await h.close();
}

describe('sessions across restarts and secret rotation (CLOAKROOM_SECRETS newest first)', () => {
  test('a session survives a restart with the same secret', async () => {
    const first = await start(TEST_SECRET, true);
    const { cookie } = await first.login('bob');
    await stop(first);
    const second = await start(TEST_SECRET);
    expect((await second.fetch('/api/session', { cookie })).status).toBe(200);
  });

  test('adding a new secret in front keeps old cookies valid and signs new ones with it; dropping the old secret ends the old cookies only', async () => {
    const first = await start(TEST_SECRET, true);
    const old = await first.login('bob');
    await stop(first);

    const rotated = await start(`${NEW_SECRET},${TEST_SECRET}`);
    expect((await rotated.fetch('/api/session', { cookie: old.cookie })).status).toBe(200);
    const fresh = await rotated.login('alice');
    await stop(rotated);

    const only = await start(NEW_SECRET);
    expect((await only.fetch('/api/session', { cookie: old.cookie })).status).toBe(401);
    expect((await only.fetch('/auth/verify', { cookie: old.cookie })).status).toBe(401);
    expect((await only.fetch('/api/session', { cookie: fresh.cookie })).status).toBe(200);
  });

  test('a cookie signed by the old secret is re-signed with the new one at its next renewal', async () => {
    const first = await start(TEST_SECRET, true);
    const old = await first.login('bob');
    await stop(first);

    const rotated = await startHarness({
      dataDir: dir,
      users: false,
      env: { CLOAKROOM_SECRETS: `${NEW_SECRET},${TEST_SECRET}`, CLOAKROOM_TOUCH_INTERVAL: '1s' },
    });
    open.push(rotated);
    await new Promise((r) => setTimeout(r, 1_100));
    const res = await rotated.fetch('/api/session', { cookie: old.cookie });
    expect(res.status).toBe(200);
    const resigned = sessionCookieOf(res);
    expect(resigned).not.toBeNull();
    expect(resigned).not.toBe(old.cookie);
    // Same token, new signature.
    expect(resigned!.split('.')[0]).toBe(old.cookie.split('.')[0]);
    await stop(rotated);

    const only = await start(NEW_SECRET);
    expect((await only.fetch('/api/session', { cookie: resigned! })).status).toBe(200);
  });

  test('a CSRF token minted under the old secret still works while that secret is in the ring', async () => {
    const first = await start(TEST_SECRET, true);
    const old = await first.login('bob');
    await stop(first);
    const rotated = await start(`${NEW_SECRET},${TEST_SECRET}`);
    const res = await rotated.fetch('/api/profile', {
      method: 'PATCH',
      cookie: old.cookie,
      csrf: old.csrf,
      json: { displayName: 'still me' },
    });
    expect(res.status).toBe(200);
  });
});
