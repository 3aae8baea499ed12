import { afterEach, describe, expect, test } from 'vitest';
import { manualClock } from '../../src/core/clock.js';
import { SETUP_TTL_MS } from '../../src/server/setup-token.js';
import { type ServerHarness, startHarness } from '../support/server.js';

// The first-run set-up link (issue: "valid one hour, single use; once an admin exists the link
// is dead"). The browser flow is test/e2e/first-run.test.ts; here the edges, over real HTTP.

let h: ServerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function setupLink(harness: ServerHarness): string {
  const line = harness.logs.find((l) => l.event === 'setup.needed') as { setupUrl?: string } | undefined;
  if (!line?.setupUrl) throw new Error('the server logged no set-up link');
  const url = new URL(line.setupUrl);
  return `${url.pathname}${url.search}`;
}

describe('first-run set-up link', () => {
  test('works up to one hour after start and is dead (404) from then on', async () => {
    const clock = manualClock(Date.now());
    h = await startHarness({ users: false, clock });
    const link = setupLink(h);
    clock.advance(SETUP_TTL_MS - 1_000);
    const before = await h.fetch(link);
    expect(before.status).toBe(200);
    expect(await before.text()).toContain('form');
    clock.advance(1_000);
    const after = await h.fetch(link);
    expect(after.status).toBe(404);
    await after.arrayBuffer();
    expect(await h.deps.users.count()).toBe(0);
  });

  test('dies as soon as a user exists by another way (the CLI, CLOAKROOM_ADMIN_*), while still in its hour', async () => {
    h = await startHarness({ users: false });
    const link = setupLink(h);
    expect((await h.fetch(link)).status).toBe(200);
    await h.createUser('ops', { roles: ['admin'] });
    const res = await h.fetch(link);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
  });

  test('is never offered when CLOAKROOM_ADMIN_* created the first admin at start', async () => {
    h = await startHarness({
      users: false,
      env: { CLOAKROOM_ADMIN_USER: 'ops', CLOAKROOM_ADMIN_PASSWORD: 'a long enough passphrase' },
    });
    expect(h.logs.some((l) => l.event === 'setup.needed')).toBe(false);
    expect(await h.deps.users.count()).toBe(1);
    const res = await h.fetch('/setup?token=anything');
    expect(res.status).toBe(404);
    await res.arrayBuffer();
  });
});
