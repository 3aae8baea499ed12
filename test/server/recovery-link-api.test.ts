import { afterEach, describe, expect, test } from 'vitest';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { enrol, passwordStep, signInPassword } from '../support/second-factor-api.js';
import { jsonOf, PASSWORD, type ServerHarness, startHarness } from '../support/server.js';

// An admin's recovery link over the API: POST /api/admin/users/:id/recovery-link gives the URL
// once; POST /api/recover uses it exactly once.

const NEW_PASSWORD = 'a recovered password 42';
let clock: ManualClock;
let h: ServerHarness;
afterEach(async () => h?.close());

async function start(env: Record<string, string> = {}) {
  clock = manualClock();
  h = await startHarness({ clock, env });
}

async function issue(body?: unknown): Promise<{ url: string; expiresAt: string; token: string }> {
  const admin = await signInPassword(h, 'alice');
  const res = await h.fetch(`/api/admin/users/${h.ids.bob}/recovery-link`, {
    method: 'POST',
    jar: admin.jar,
    csrf: admin.csrf,
    ...(body === undefined ? {} : { json: body }),
  });
  expect(res.status).toBe(201);
  const link = await jsonOf<{ url: string; expiresAt: string }>(res);
  return { ...link, token: new URL(link.url).searchParams.get('token')! };
}

describe('POST /api/admin/users/:id/recovery-link', () => {
  test('201 {url, expiresAt}: on the request origin without CLOAKROOM_PUBLIC_URL, an hour ahead', async () => {
    await start();
    const { url, expiresAt } = await issue();
    expect(url.startsWith(`${h.origin}/recover?token=`)).toBe(true);
    expect(Date.parse(expiresAt)).toBe(clock.now() + 3_600_000);
    expect(h.logText()).not.toContain(new URL(url).searchParams.get('token')!);
  });

  test('on CLOAKROOM_PUBLIC_URL when set', async () => {
    await start({ CLOAKROOM_PUBLIC_URL: 'https://login.example.com/' });
    const { url } = await issue({ clearSecondFactor: true });
    expect(url).toMatch(/^https:\/\/login\.example\.com\/recover\?token=[\w.-]+$/);
  });

  test('an unknown user is 404; a non-admin is 403', async () => {
    await start();
    const admin = await signInPassword(h, 'alice');
    const missing = await h.fetch('/api/admin/users/00000000-0000-4000-8000-000000000000/recovery-link', {
      method: 'POST',
      jar: admin.jar,
      csrf: admin.csrf,
    });
    expect(missing.status).toBe(404);
    const bob = await signInPassword(h, 'bob');
    const refused = await h.fetch(`/api/admin/users/${h.ids.alice}/recovery-link`, {
      method: 'POST',
      jar: bob.jar,
      csrf: bob.csrf,
    });
    expect(refused.status).toBe(403);
    expect(await jsonOf(refused)).toMatchObject({ error: 'forbidden' });
  });
});

describe('POST /api/recover', () => {
  test('sets the password and ends every session, exactly once; the second use is 404', async () => {
    await start();
    const bob = await signInPassword(h, 'bob');
    const { token } = await issue();
    const used = await h.fetch('/api/recover', { json: { token, newPassword: NEW_PASSWORD } });
    expect(used.status).toBe(204);
    expect((await h.fetch('/api/session', { jar: bob.jar })).status).toBe(401);
    expect((await passwordStep(h, 'bob')).response.status).toBe(401);
    await signInPassword(h, 'bob', NEW_PASSWORD);
    const again = await h.fetch('/api/recover', { json: { token, newPassword: 'yet another password 1' } });
    expect(again.status).toBe(404);
    expect(await jsonOf(again)).toMatchObject({ error: 'not_found' });
    await signInPassword(h, 'bob', NEW_PASSWORD);
  });

  test('parallel uses: one 204, the rest 404', async () => {
    await start();
    const { token } = await issue();
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        h.fetch('/api/recover', { json: { token, newPassword: `${NEW_PASSWORD} ${i}` } }),
      ),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([204, 404, 404, 404, 404]);
  });

  test('a password the policy refuses is 400 and leaves the link working; an hour later it is 404', async () => {
    await start();
    const { token } = await issue();
    const weak = await h.fetch('/api/recover', { json: { token, newPassword: 'short' } });
    expect(weak.status).toBe(400);
    clock.advance(3_600_000);
    const late = await h.fetch('/api/recover', { json: { token, newPassword: NEW_PASSWORD } });
    expect(late.status).toBe(404);
  });

  test('with clearSecondFactor the factor goes too; without it the user still needs a code', async () => {
    await start();
    const bob = await signInPassword(h, 'bob');
    await enrol(h, bob, clock.now);
    const kept = await issue({ clearSecondFactor: false });
    expect(
      (await h.fetch('/api/recover', { json: { token: kept.token, newPassword: NEW_PASSWORD } })).status,
    ).toBe(204);
    expect((await passwordStep(h, 'bob', NEW_PASSWORD)).body.error).toBe('second_factor_required');
    const cleared = await issue({ clearSecondFactor: true });
    const second = `${NEW_PASSWORD} again`;
    expect(
      (await h.fetch('/api/recover', { json: { token: cleared.token, newPassword: second } })).status,
    ).toBe(204);
    await signInPassword(h, 'bob', second);
  });

  test('a foreign Origin is refused (login CSRF) and the link stays usable', async () => {
    await start();
    const { token } = await issue();
    const forged = await h.fetch('/api/recover', {
      json: { token, newPassword: NEW_PASSWORD },
      headers: { origin: 'https://evil.example' },
    });
    expect(forged.status).toBe(403);
    expect(await jsonOf(forged)).toMatchObject({ error: 'csrf' });
    // A signed-in browser's session CSRF token is not needed: the link is the proof.
    const someone = await signInPassword(h, 'alice');
    const ok = await h.fetch('/api/recover', {
      json: { token, newPassword: NEW_PASSWORD },
      jar: someone.jar,
    });
    expect(ok.status).toBe(204);
    expect(PASSWORD).not.toBe(NEW_PASSWORD);
  });
});
