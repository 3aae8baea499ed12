// Smoke test of examples/fastify-spa: the JSON API over HTTP, then the single-page app itself
// in Debian's Chromium (its external script must run under the page's CSP).
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CookieJar, type RunningProcess, startExample } from './support.js';

const CHROMIUM = '/usr/bin/chromium';

let app: RunningProcess & { url: string };

beforeAll(async () => {
  app = await startExample('examples/fastify-spa/server.ts');
}, 40_000);

afterAll(async () => {
  await app?.stop();
});

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

test('the page loads its code from an external script under a CSP without inline script', async () => {
  const page = await fetch(`${app.url}/`);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('<script src="/app.js" defer></script>');
  expect(html).not.toMatch(/<script>(?!<\/script>)/);
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  const script = await fetch(`${app.url}/app.js`);
  expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
  expect(await script.text()).toContain("'x-csrf-token'");
});

test('API: sign in, POST with X-CSRF-Token, refusals without it or cross-site, sign out', async () => {
  const jar = new CookieJar();
  expect((await jar.fetch(`${app.url}/api/me`)).status).toBe(401);
  expect(
    (await jar.fetch(`${app.url}/api/login`, json({ username: 'demo', password: 'wrong-one' }))).status,
  ).toBe(401);
  const foreign = await jar.fetch(
    `${app.url}/api/login`,
    json({ username: 'demo', password: 'harbour-lantern-42' }, { origin: 'http://evil.test' }),
  );
  expect(foreign.status).toBe(403);

  const login = await jar.fetch(
    `${app.url}/api/login`,
    json({ username: 'demo', password: 'harbour-lantern-42' }, { origin: app.url }),
  );
  expect(login.status).toBe(200);
  const { csrfToken, user } = (await login.json()) as { csrfToken: string; user: { username: string } };
  expect(user.username).toBe('demo');

  // No token, a wrong token, a cross-site request with the right token: all refused, nothing counted.
  expect((await jar.fetch(`${app.url}/api/clicks`, { method: 'POST' })).status).toBe(403);
  expect(
    (
      await jar.fetch(`${app.url}/api/clicks`, {
        method: 'POST',
        headers: { 'x-csrf-token': 'x'.repeat(40) },
      })
    ).status,
  ).toBe(403);
  const crossSite = await jar.fetch(`${app.url}/api/clicks`, {
    method: 'POST',
    headers: { 'x-csrf-token': csrfToken, 'sec-fetch-site': 'cross-site' },
  });
  expect(crossSite.status).toBe(403);

  for (const expected of [1, 2]) {
    const res = await jar.fetch(`${app.url}/api/clicks`, {
      method: 'POST',
      headers: { 'x-csrf-token': csrfToken, origin: app.url },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ clicks: expected });
  }
  // A reload: GET /api/me hands out a fresh token that works too.
  const me = (await (await jar.fetch(`${app.url}/api/me`)).json()) as { csrfToken: string; clicks: number };
  expect(me.clicks).toBe(2);
  expect(me.csrfToken).not.toBe(csrfToken);

  const out = await jar.fetch(`${app.url}/api/logout`, {
    method: 'POST',
    headers: { 'x-csrf-token': me.csrfToken },
  });
  expect(out.status).toBe(204);
  expect((await jar.fetch(`${app.url}/api/me`)).status).toBe(401);
});

test('in Chromium: sign in through the page, click twice, reload, sign out', async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    timeout: 60_000,
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/401/.test(message.text())) errors.push(message.text());
    });
    await page.goto(app.url);
    await page.getByLabel('Username').fill('demo');
    await page.getByLabel('Password').fill('harbour-lantern-42');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#username').textContent()).toBe('demo');
    const click = page.getByRole('button', { name: /Click/ });
    await click.click();
    await expect.poll(() => page.locator('#clicks').textContent()).toBe('1');
    await click.click();
    await expect.poll(() => page.locator('#clicks').textContent()).toBe('2');
    await page.reload();
    await expect.poll(() => page.locator('#clicks').textContent()).toBe('2');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.locator('#login').isVisible()).toBe(true);
    expect(errors).toEqual([]);
  } finally {
    await browser.close();
  }
}, 60_000);
