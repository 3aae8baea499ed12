import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { type HonoHarness, honoHarness } from '../../support/hono-app.js';

let h: HonoHarness;
beforeEach(async () => {
  h = await honoHarness();
});
afterEach(async () => h.close());

describe('hono adapter: fail closed when the store is down', () => {
  test('a request with a session cookie gets 503 unavailable, never 200, and no driver detail', async () => {
    const { cookie } = await h.login('alice');
    await h.store.close();
    const res = await h.request('/me', { cookie });
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ error: 'unavailable' });
    expect(text).not.toMatch(/sqlite|database|stack|Error:/i);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  test('a request without a cookie never touches the store and is simply signed out', async () => {
    await h.store.close();
    expect((await h.request('/me')).status).toBe(401);
  });
});
