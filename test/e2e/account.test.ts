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

describe('/account: profile, password and my sessions (real browser)', () => {
  let browser: Browser;
  let server: E2EServer;

  beforeAll(async () => {
    browser = await launchBrowser();
    server = await startE2EServer();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A fresh context signed in as `username`, on /account. */
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

  /** Where a context ends up when it opens /account. */
  const openAccount = async (page: Page) => {
    await page.goto(`${server.url}/account`);
    return new URL(page.url()).pathname;
  };

  const rows = (page: Page) => page.locator('tbody tr[data-session]');

  it('lists this device with its browser, IP address and "just now"', async () => {
    await createUser(server, 'erin', { displayName: 'Erin' });
    const { context, page } = await device('erin');
    expect(await rows(page).count()).toBe(1);
    const mine = page.locator('tr[data-current="true"]');
    expect(await mine.count()).toBe(1);
    const device1 = await textOf(mine.locator('td[data-label="Device"]'));
    expect(device1).toMatch(/Chrome on Linux/);
    expect(device1).toContain('this device');
    expect(await textOf(mine.locator('td[data-label="IP address"]'))).toBe('127.0.0.1');
    expect(await textOf(mine.locator('td[data-label="Last active"]'))).toBe('just now');
    expect(await mine.getAttribute('data-session')).toMatch(/\S{8,}/);
    // With one session, "sign out everywhere else" has nothing to do.
    expect(await page.locator('form[action="/account/sessions/revoke-others"] button').isDisabled()).toBe(
      true,
    );
    await shot(page, 'account');
    await context.close();
  });

  it('two devices see each other; signing out the other row ends that device on its next navigation', async () => {
    await createUser(server, 'frank');
    const a = await device('frank');
    const b = await device('frank');
    await a.page.reload();
    expect(await rows(a.page).count()).toBe(2);
    expect(await a.page.locator('tr[data-current="true"]').count()).toBe(1);
    const other = a.page.locator('tr[data-current="false"]');
    expect(await other.count()).toBe(1);
    const bId = await b.page.locator('tr[data-current="true"]').getAttribute('data-session');
    expect(await other.getAttribute('data-session')).toBe(bId);
    await shot(a.page, 'account-two-devices');

    await submit(a.page, () => other.locator('button', { hasText: 'Sign out' }).click());
    expect(new URL(a.page.url()).pathname).toBe('/account');
    expect(await flashText(a.page)).toBe('That device is signed out.');
    expect(await rows(a.page).count()).toBe(1);

    expect(await openAccount(b.page)).toBe('/login');
    expect((await whoAmI(b.context, server.url)).status).toBe(401);
    expect(await openAccount(a.page)).toBe('/account');
    await a.context.close();
    await b.context.close();
  });

  it('"Sign out everywhere else" ends the other devices, keeps this one, and says how many', async () => {
    await createUser(server, 'grace');
    const a = await device('grace');
    const b = await device('grace');
    const c = await device('grace');
    await a.page.reload();
    expect(await rows(a.page).count()).toBe(3);
    await submit(a.page, () =>
      a.page.locator('form[action="/account/sessions/revoke-others"] button[type="submit"]').click(),
    );
    expect(await flashText(a.page)).toBe('Signed out everywhere else: 2 other session(s) ended.');
    expect(await rows(a.page).count()).toBe(1);
    expect(await openAccount(b.page)).toBe('/login');
    expect(await openAccount(c.page)).toBe('/login');
    expect(await openAccount(a.page)).toBe('/account');
    expect(await whoAmI(a.context, server.url)).toEqual({ status: 200, username: 'grace' });
    for (const d of [a, b, c]) await d.context.close();
  });

  it('editing the display name shows a confirmation and the new name', async () => {
    await createUser(server, 'heidi', { displayName: 'Heidi' });
    const { context, page } = await device('heidi');
    await page.locator('#displayName').fill('Heidi Klum-Nakamura');
    await submit(page, () => page.locator('form[action="/account/profile"] button[type="submit"]').click());
    expect(new URL(page.url()).pathname).toBe('/account');
    expect(await flashText(page)).toBe('Your display name is saved.');
    expect(await textOf(page.locator('h1'))).toBe('Hello, Heidi Klum-Nakamura');
    expect(await page.locator('#displayName').inputValue()).toBe('Heidi Klum-Nakamura');
    expect((await server.deps.users.getByUsername('heidi'))?.displayName).toBe('Heidi Klum-Nakamura');
    // The flash is shown once, not again on reload.
    await page.reload();
    expect(await flashText(page)).toBeNull();
    await context.close();
  });

  it('changing the password signs the other devices out and keeps this one signed in', async () => {
    await createUser(server, 'ivan');
    const a = await device('ivan');
    const b = await device('ivan');
    const before = (await a.context.cookies(server.url)).find((k) => k.name === 'cloakroom')!.value;
    await a.page.reload();
    const fresh = 'a brand new passphrase';
    await a.page.locator('#currentPassword').fill(PASSWORD);
    await a.page.locator('#newPassword').fill(fresh);
    await a.page.locator('#confirmPassword').fill(fresh);
    await submit(a.page, () =>
      a.page.locator('form[action="/account/password"] button[type="submit"]').click(),
    );
    expect(new URL(a.page.url()).pathname).toBe('/account');
    expect(await flashText(a.page)).toBe('Password changed. Every other device was signed out.');
    expect(await rows(a.page).count()).toBe(1);
    // This device got a new ticket (privilege change rotates) and stays signed in.
    const after = (await a.context.cookies(server.url)).find((k) => k.name === 'cloakroom')!.value;
    expect(after).not.toBe(before);
    expect(await openAccount(a.page)).toBe('/account');
    expect(await openAccount(b.page)).toBe('/login');
    // The old password no longer signs in; the new one does.
    const c = await newContext(browser);
    const cp = await c.newPage();
    expect((await signIn(cp, server.url, 'ivan', PASSWORD))?.status()).toBe(401);
    await signIn(cp, server.url, 'ivan', fresh);
    expect(new URL(cp.url()).pathname).toBe('/account');
    for (const ctx of [a.context, b.context, c]) await ctx.close();
  });

  it('a wrong current password changes nothing and says so', async () => {
    await createUser(server, 'judy');
    const a = await device('judy');
    const b = await device('judy');
    await a.page.reload();
    await a.page.locator('#currentPassword').fill('not my password');
    await a.page.locator('#newPassword').fill('another passphrase');
    await a.page.locator('#confirmPassword').fill('another passphrase');
    await submit(a.page, () =>
      a.page.locator('form[action="/account/password"] button[type="submit"]').click(),
    );
    expect(await flashText(a.page)).toBe('The current password is wrong.');
    expect(await openAccount(b.page)).toBe('/account');
    const ok = await server.deps.passwords.verify(
      (await server.deps.users.getByUsername('judy'))!.passwordHash,
      PASSWORD,
    );
    expect(ok.ok).toBe(true);
    await a.context.close();
    await b.context.close();
  });

  it('the sign-out form (action ending in "logout") signs out; /account then redirects to /login', async () => {
    await createUser(server, 'kim');
    const { context, page } = await device('kim');
    const form = page.locator('main form[action$="logout"]');
    expect(await form.count()).toBe(1);
    expect(await form.getAttribute('method')).toBe('post');
    await submit(page, () => form.locator('button[type="submit"]').click());
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await flashText(page)).toBe('You are signed out.');
    expect((await context.cookies(server.url)).find((k) => k.name === 'cloakroom')).toBeUndefined();
    await page.goto(`${server.url}/account`);
    const at = new URL(page.url());
    expect(at.pathname).toBe('/login');
    expect(at.searchParams.get('next')).toBe('/account');
    // The header's sign-out button does the same.
    await signIn(page, server.url, 'kim', PASSWORD, { navigate: false });
    await submit(page, () => page.locator('header form[action$="logout"] button').click());
    expect(new URL(page.url()).pathname).toBe('/login');
    expect((await whoAmI(context, server.url)).status).toBe(401);
    await context.close();
  });

  it('after signing out, the Back button does not bring the account page back', async () => {
    await createUser(server, 'lena', { displayName: 'Lena Private' });
    const { context, page } = await device('lena');
    await submit(page, () => page.locator('main form[action$="logout"] button[type="submit"]').click());
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.goBack({ waitUntil: 'load' });
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await page.content()).not.toContain('Lena Private');
    await context.close();
  });
});
