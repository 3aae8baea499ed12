import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { type HonoHarness, honoHarness } from '../../support/hono-app.js';

let h: HonoHarness;
beforeEach(async () => {
  h = await honoHarness();
});
afterEach(async () => h.close());

async function mutate(init: RequestInit & { cookie?: string }) {
  const res = await h.request('/mutate', { method: 'POST', ...init });
  return res.status;
}

describe('hono adapter: csrf()', () => {
  test('a cookie-authenticated POST without a token is refused and changes nothing', async () => {
    const { cookie } = await h.login('alice');
    expect(await mutate({ cookie })).toBe(403);
    expect(h.counter.value).toBe(0);
  });

  test('the token in X-CSRF-Token passes', async () => {
    const { cookie, csrf } = await h.login('alice');
    expect(await mutate({ cookie, headers: { 'x-csrf-token': csrf } })).toBe(200);
    expect(h.counter.value).toBe(1);
  });

  test('an HTML form may send the token as _csrf', async () => {
    const { cookie, csrf } = await h.login('alice');
    const body = new URLSearchParams({ _csrf: csrf });
    expect(
      await mutate({ cookie, body, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    ).toBe(200);
  });

  test('the token is never taken from the query string', async () => {
    const { cookie, csrf } = await h.login('alice');
    const res = await h.request(`/mutate?_csrf=${encodeURIComponent(csrf)}`, { method: 'POST', cookie });
    expect(res.status).toBe(403);
    expect(h.counter.value).toBe(0);
  });

  test('_csrf in a JSON or text/plain body is not a token (simple content types cannot carry it)', async () => {
    const { cookie, csrf } = await h.login('alice');
    for (const type of ['text/plain', 'TEXT/PLAIN', 'text/plain;charset=utf-8', 'application/json']) {
      expect(
        await mutate({ cookie, body: JSON.stringify({ _csrf: csrf }), headers: { 'content-type': type } }),
        type,
      ).toBe(403);
    }
    expect(h.counter.value).toBe(0);
  });

  test('cross-site and same-site requests are refused even with a valid token', async () => {
    const { cookie, csrf } = await h.login('alice');
    const attacks = [
      { origin: 'https://evil.test', 'sec-fetch-site': 'cross-site' },
      { origin: 'http://app.test:8081', 'sec-fetch-site': 'same-site' },
      { origin: 'http://sub.app.test' },
      { origin: 'null' },
    ];
    for (const headers of attacks) {
      expect(
        await mutate({ cookie, headers: { ...headers, 'x-csrf-token': csrf } }),
        JSON.stringify(headers),
      ).toBe(403);
    }
    expect(h.counter.value).toBe(0);
  });

  test('a same-origin browser request with the token passes', async () => {
    const { cookie, csrf } = await h.login('alice');
    const headers = { origin: 'http://app.test', 'sec-fetch-site': 'same-origin', 'x-csrf-token': csrf };
    expect(await mutate({ cookie, headers })).toBe(200);
  });

  test("a token minted before sign-in (another session's) is refused after it", async () => {
    const first = await h.login('alice');
    const second = await h.login('alice');
    expect(await mutate({ cookie: second.cookie, headers: { 'x-csrf-token': first.csrf } })).toBe(403);
  });

  test('GET, HEAD and OPTIONS never reach a state-changing POST handler', async () => {
    const { cookie } = await h.login('alice');
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      const res = await h.request('/mutate', { method, cookie });
      expect(res.status, method).toBe(404);
    }
    const override = await h.request('/mutate', {
      method: 'POST',
      cookie,
      headers: { 'x-http-method-override': 'GET' },
    });
    expect(override.status).toBe(403);
    expect(h.counter.value).toBe(0);
  });
});
