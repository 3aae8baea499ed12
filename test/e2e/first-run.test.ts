import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createUser,
  E2E_TIMEOUT_MS,
  type E2EServer,
  flashText,
  launchBrowser,
  newContext,
  shot,
  startE2EServer,
  submit,
  textOf,
  whoAmI,
} from './support.js';

vi.setConfig({ testTimeout: E2E_TIMEOUT_MS, hookTimeout: E2E_TIMEOUT_MS });

const ADMIN_PASSWORD = 'a long first-admin passphrase';

describe('first run: the one-time set-up link (real browser)', () => {
  let browser: Browser;
  const servers: E2EServer[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  const freshServer = async () => {
    const server = await startE2EServer();
    servers.push(server);
    return server;
  };

  it('a server with no users logs a set-up link on its own origin', async () => {
    const server = await freshServer();
    expect(server.setupUrl).not.toBeNull();
    const link = new URL(server.setupUrl!);
    expect(link.origin).toBe(server.origin);
    expect(link.pathname).toBe('/setup');
    expect(link.searchParams.get('token')).toMatch(/^[A-Za-z0-9_-]{40,}$/);
  });

  it('the set-up link creates the first admin, signs them in on /account, and then is dead (404)', async () => {
    const server = await freshServer();
    const context = await newContext(browser);
    const page = await context.newPage();

    const opened = await page.goto(server.setupUrl!);
    expect(opened?.status()).toBe(200);
    expect(await textOf(page.locator('h1'))).toBe('Create the first admin');
    await page.locator('input[name="username"]').fill('root');
    await page.locator('input[name="displayName"]').fill('Ada Admin');
    await page.locator('input[name="password"]').fill(ADMIN_PASSWORD);
    await page.locator('input[name="confirm"]').fill(ADMIN_PASSWORD);
    await shot(page, 'setup');
    const landed = await submit(page, () =>
      page.locator('form[action="/setup"] button[type="submit"]').click(),
    );

    expect(landed?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/account');
    expect(await flashText(page)).toContain('Welcome');
    expect(await textOf(page.locator('h1'))).toContain('Ada Admin');
    // Signed in as an admin: the Admin link is in the header and /api/session agrees.
    expect(await page.locator('nav a[href="/admin"]').count()).toBe(1);
    expect(await whoAmI(context, server.url)).toEqual({ status: 200, username: 'root' });
    const stored = await server.deps.users.getByUsername('root');
    expect(stored?.roles).toEqual(['admin']);
    expect(stored?.displayName).toBe('Ada Admin');
    expect(server.logs.some((l) => l.event === 'admin.bootstrapped')).toBe(true);

    // The same link again: closed, a proper HTML page with status 404.
    const again = await page.goto(server.setupUrl!);
    expect(again?.status()).toBe(404);
    expect(again?.headers()['content-type']).toMatch(/^text\/html/);
    expect(await textOf(page.locator('h1'))).toBe('Set-up is closed');
    await context.close();
    expect(await server.deps.users.count()).toBe(1);
  });

  it('a wrong set-up token is a 404 page and creates nothing, even while set-up is open', async () => {
    const server = await freshServer();
    const context = await newContext(browser);
    const page = await context.newPage();
    const wrong = new URL(server.setupUrl!);
    wrong.searchParams.set('token', 'A'.repeat(43));
    for (const address of [wrong.href, `${server.url}/setup`, `${server.url}/setup?token=`]) {
      const response = await page.goto(address);
      expect(response?.status(), address).toBe(404);
      expect(await textOf(page.locator('h1'))).toBe('Set-up is closed');
      expect(await page.locator('form[action="/setup"]').count()).toBe(0);
    }
    expect(await server.deps.users.count()).toBe(0);
    // The real link still works afterwards: the wrong guesses did not burn it.
    const real = await page.goto(server.setupUrl!);
    expect(real?.status()).toBe(200);
    await context.close();
  });
  it('mismatched passwords re-show the form with an error (400) and the link stays usable', async () => {
    const server = await freshServer();
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(server.setupUrl!);
    await page.locator('input[name="username"]').fill('root');
    await page.locator('input[name="displayName"]').fill('Ada Admin');
    await page.locator('input[name="password"]').fill(ADMIN_PASSWORD);
    await page.locator('input[name="confirm"]').fill(`${ADMIN_PASSWORD} typo`);
    const refused = await submit(page, () =>
      page.locator('form[action="/setup"] button[type="submit"]').click(),
    );
    expect(refused?.status()).toBe(400);
    expect(await textOf(page.locator('[role="alert"]'))).toContain('The passwords do not match.');
    expect(await page.locator('input[name="username"]').inputValue()).toBe('root');
    expect(await page.locator('input[name="displayName"]').inputValue()).toBe('Ada Admin');
    // The passwords are what to type again: the focus is there.
    expect(await page.evaluate<string>('document.activeElement && document.activeElement.name')).toBe(
      'password',
    );
    expect(await server.deps.users.count()).toBe(0);

    // The re-shown form (same token, fresh CSRF field) goes through, with the name typed first.
    await page.locator('input[name="password"]').fill(ADMIN_PASSWORD);
    await page.locator('input[name="confirm"]').fill(ADMIN_PASSWORD);
    await submit(page, () => page.locator('form[action="/setup"] button[type="submit"]').click());
    expect(new URL(page.url()).pathname).toBe('/account');
    expect(await whoAmI(context, server.url)).toEqual({ status: 200, username: 'root' });
    expect((await server.deps.users.getByUsername('root'))?.displayName).toBe('Ada Admin');
    await context.close();
  });

  it('once an admin exists another way (the CLI), the link says so and points to sign-in', async () => {
    const server = await freshServer();
    const context = await newContext(browser);
    const page = await context.newPage();
    await createUser(server, 'ops', { roles: ['admin'] });
    const response = await page.goto(server.setupUrl!);
    expect(response?.status()).toBe(404);
    expect(await textOf(page.locator('h1'))).toBe('Set-up is closed');
    expect(await textOf(page.locator('main'))).toContain('An administrator already exists; sign in instead.');
    await submit(page, () => page.locator('main a[href="/login"]').click());
    expect(new URL(page.url()).pathname).toBe('/login');
    await context.close();
  });
});
