import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createUser,
  E2E_TIMEOUT_MS,
  type E2EServer,
  flashText,
  launchBrowser,
  newContext,
  PASSWORD,
  shot,
  signIn,
  startE2EServer,
  submit,
  textOf,
  whoAmI,
} from './support.js';

vi.setConfig({ testTimeout: E2E_TIMEOUT_MS, hookTimeout: E2E_TIMEOUT_MS });

describe('/admin: users, roles, lock (real browser)', () => {
  let browser: Browser;
  let server: E2EServer;

  beforeAll(async () => {
    browser = await launchBrowser();
    server = await startE2EServer();
    await createUser(server, 'root', { roles: ['admin'], displayName: 'Root Admin' });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const device = async (
    username: string,
    password = PASSWORD,
  ): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, server.url, username, password);
    expect(new URL(page.url()).pathname).toBe('/account');
    return { context, page };
  };

  const openAdmin = async (page: Page) => {
    const response = await page.goto(`${server.url}/admin`);
    return { status: response?.status(), path: new URL(page.url()).pathname };
  };

  const row = (page: Page, username: string) => page.locator(`tr[data-user="${username}"]`);
  const ownId = async () => (await server.deps.users.getByUsername('root'))!.id;

  it('an admin creates a user with the form and sees them in the table with a confirmation', async () => {
    const admin = await device('root');
    expect(await openAdmin(admin.page)).toEqual({ status: 200, path: '/admin' });
    const create = admin.page.locator('form[action="/admin/users"]');
    await create.locator('input[name="username"]').fill('nina');
    await create.locator('input[name="displayName"]').fill('Nina Newcomer');
    await create.locator('input[name="password"]').fill('violet initial passphrase');
    await create.locator('input[name="roles"]').fill('ops, support');
    await submit(admin.page, () => create.locator('button[type="submit"]').click());

    expect(new URL(admin.page.url()).pathname).toBe('/admin');
    expect(await flashText(admin.page)).toBe('User created.');
    const nina = row(admin.page, 'nina');
    expect(await nina.count()).toBe(1);
    expect(await textOf(nina.locator('td[data-label="User"]'))).toContain('Nina Newcomer');
    expect(await nina.locator('input[name="roles"]').inputValue()).toBe('ops, support');
    expect(await textOf(nina.locator('td[data-label="Status"]'))).toBe('active');
    const stored = await server.deps.users.getByUsername('nina');
    expect(stored?.roles).toEqual(['ops', 'support']);
    // The new user can sign in with the initial password.
    const n = await device('nina', 'violet initial passphrase');
    expect(await whoAmI(n.context, server.url)).toEqual({ status: 200, username: 'nina' });
    await admin.page.reload();
    await shot(admin.page, 'admin');
    await n.context.close();
    await admin.context.close();
  });

  it('a duplicate username is refused with a message, creates nothing, and keeps what was typed', async () => {
    await createUser(server, 'olga');
    const admin = await device('root');
    await openAdmin(admin.page);
    const create = admin.page.locator('form[action="/admin/users"]');
    await create.locator('input[name="username"]').fill('OLGA');
    await create.locator('input[name="displayName"]').fill('Olga the Second');
    await create.locator('input[name="password"]').fill('some passphrase');
    await create.locator('input[name="roles"]').fill('ops');
    const refused = await submit(admin.page, () => create.locator('button[type="submit"]').click());
    expect(refused?.status()).toBe(409);
    expect(await flashText(admin.page)).toBe('That username is taken.');
    expect(await row(admin.page, 'olga').count()).toBe(1);
    // Only the username needs changing: the rest is still there (the password is not sent back).
    const again = admin.page.locator('form[action="/admin/users"]');
    expect(await again.locator('input[name="username"]').inputValue()).toBe('OLGA');
    expect(await again.locator('input[name="displayName"]').inputValue()).toBe('Olga the Second');
    expect(await again.locator('input[name="roles"]').inputValue()).toBe('ops');
    expect(await again.locator('input[name="password"]').inputValue()).toBe('');
    await admin.context.close();
  });

  it('names stay on one line in the user column, however long', async () => {
    await createUser(server, 'long', {
      displayName: 'Maximiliane Featherstonehaugh-Cholmondeley of Somewhere',
    });
    const admin = await device('root');
    await openAdmin(admin.page);
    for (const username of ['root', 'long']) {
      const name = row(admin.page, username).locator('.who .name');
      const box = await name.boundingBox();
      // One line is at most ~1.5 font sizes high; two lines are at least 2.4.
      const fontSize = await name.evaluate((el) =>
        Number.parseFloat(
          (globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(
            el,
          ).fontSize,
        ),
      );
      expect(box!.height, username).toBeLessThan(fontSize * 2);
    }
    // The full name is still there to read (title), and in the page's text.
    const long = row(admin.page, 'long').locator('.who .name');
    expect(await long.getAttribute('title')).toBe('Maximiliane Featherstonehaugh-Cholmondeley of Somewhere');
    await admin.context.close();
  });

  it("a role change through the row's roles form applies on the user's very next request", async () => {
    await createUser(server, 'paul');
    const admin = await device('root');
    const paul = await device('paul');
    expect((await openAdmin(paul.page)).status).toBe(403);

    await openAdmin(admin.page);
    const rolesForm = row(admin.page, 'paul').locator('form[action$="/roles"]');
    await rolesForm.locator('input[name="roles"]').fill('admin, ops');
    await submit(admin.page, () => rolesForm.locator('button[type="submit"]').click());
    expect(await flashText(admin.page)).toBe('Roles saved. They apply on the user’s next request.');
    expect(await row(admin.page, 'paul').locator('input[name="roles"]').inputValue()).toBe('admin, ops');

    // Same browser, same session, no re-login: the next request sees the new role.
    expect(await openAdmin(paul.page)).toEqual({ status: 200, path: '/admin' });
    expect(await paul.page.locator('nav a[href="/admin"]').count()).toBe(1);

    // And taking it away works just as fast.
    await admin.page.reload();
    const again = row(admin.page, 'paul').locator('form[action$="/roles"]');
    await again.locator('input[name="roles"]').fill('');
    await submit(admin.page, () => again.locator('button[type="submit"]').click());
    expect((await openAdmin(paul.page)).status).toBe(403);
    await paul.context.close();
    await admin.context.close();
  });

  it("locking a user signs that user's browser out on its next navigation", async () => {
    await createUser(server, 'quinn');
    const admin = await device('root');
    const quinn = await device('quinn');
    // A second browser of quinn's, signed in before the lock and left alone until after the unlock.
    const laptop = await device('quinn');
    await openAdmin(admin.page);
    await submit(admin.page, () => row(admin.page, 'quinn').locator('button', { hasText: 'Lock' }).click());
    expect(await flashText(admin.page)).toBe('User locked and signed out everywhere.');
    expect(await textOf(row(admin.page, 'quinn').locator('td[data-label="Status"]'))).toBe('locked');
    expect(await row(admin.page, 'quinn').locator('button', { hasText: 'Unlock' }).count()).toBe(1);

    await quinn.page.goto(`${server.url}/account`);
    expect(new URL(quinn.page.url()).pathname).toBe('/login');
    // A locked user cannot sign back in (same answer as a wrong password).
    expect((await signIn(quinn.page, server.url, 'quinn'))?.status()).toBe(401);

    // Unlocking lets them in again.
    await openAdmin(admin.page);
    await submit(admin.page, () => row(admin.page, 'quinn').locator('button', { hasText: 'Unlock' }).click());
    expect(await flashText(admin.page)).toBe('User unlocked.');
    // The lock ended the laptop's session for good: the unlock does not bring it back.
    await laptop.page.goto(`${server.url}/account`);
    expect(new URL(laptop.page.url()).pathname).toBe('/login');
    await signIn(quinn.page, server.url, 'quinn');
    expect(new URL(quinn.page.url()).pathname).toBe('/account');
    await laptop.context.close();
    await quinn.context.close();
    await admin.context.close();
  });

  it('the last unlocked admin is offered no Lock button on their own row; a forged post is still refused (409)', async () => {
    const admin = await device('root');
    await openAdmin(admin.page);
    const own = row(admin.page, 'root');
    expect(await textOf(own.locator('td[data-label="User"]'))).toContain('you');
    expect(await own.locator('form[action$="/lock"]').count()).toBe(0);
    expect(await own.locator('button', { hasText: /^Lock$/ }).count()).toBe(0);
    expect(await own.locator('button', { hasText: 'Sign out everywhere' }).count()).toBe(1);
    // Everyone else's row has one.
    expect(await row(admin.page, 'olga').locator('form[action$="/lock"]').count()).toBe(1);

    // Posting the form anyway (its CSRF token from the page) changes nothing: the page says why.
    const csrf = await own.locator('input[name="_csrf"]').first().inputValue();
    const forged = await admin.context.request.post(`${server.url}/admin/users/${await ownId()}/lock`, {
      form: { _csrf: csrf },
      headers: { origin: server.origin },
      failOnStatusCode: false,
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(409);
    expect(await forged.text()).toMatch(/would leave no unlocked admin/);
    expect((await server.deps.users.getByUsername('root'))?.locked).toBe(false);
    expect(await openAdmin(admin.page)).toEqual({ status: 200, path: '/admin' });
    await admin.context.close();
  });

  it('with a second unlocked admin, every row has its Lock button again (the rule is "one admin remains")', async () => {
    await createUser(server, 'sam', { roles: ['admin'] });
    const admin = await device('root');
    await openAdmin(admin.page);
    expect(await row(admin.page, 'root').locator('form[action$="/lock"]').count()).toBe(1);
    expect(await row(admin.page, 'sam').locator('form[action$="/lock"]').count()).toBe(1);
    await server.deps.users.update(
      (await server.deps.users.getByUsername('sam'))!.id,
      { roles: [] },
      Date.now(),
    );
    await admin.context.close();
  });

  it('a non-admin visiting /admin gets a proper 403 HTML page, not JSON', async () => {
    await createUser(server, 'rita', { displayName: 'Rita' });
    const rita = await device('rita');
    const response = await rita.page.goto(`${server.url}/admin`);
    expect(response?.status()).toBe(403);
    expect(response?.headers()['content-type']).toMatch(/^text\/html/);
    expect(new URL(rita.page.url()).pathname).toBe('/admin');
    expect(await textOf(rita.page.locator('h1'))).toBe('Admins only');
    const body = await response!.text();
    expect(body.trimStart().toLowerCase()).toMatch(/^<!doctype html>|^<html/);
    expect(body).not.toContain('"error"');
    // Still signed in, with the normal header (no Admin link) and a way back.
    expect(await rita.page.locator('nav a[href="/admin"]').count()).toBe(0);
    expect(await rita.page.locator('main a[href="/account"]').count()).toBe(1);
    await shot(rita.page, 'forbidden');
    // Admin forms are refused too, even with rita's own valid CSRF token, and change nothing.
    const csrf = await rita.page.locator('header form[action$="logout"] input[name="_csrf"]').inputValue();
    const before = await server.deps.users.count();
    const post = await rita.context.request.post(`${server.url}/admin/users`, {
      form: { _csrf: csrf, username: 'sneaky', password: 'sneaky passphrase', roles: 'admin' },
      failOnStatusCode: false,
      maxRedirects: 0,
    });
    expect(post.status()).toBe(403);
    expect(post.headers()['content-type']).toMatch(/^text\/html/);
    expect(await server.deps.users.count()).toBe(before);
    await rita.context.close();
  });
});
