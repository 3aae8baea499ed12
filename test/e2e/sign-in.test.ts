import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createUser,
  E2E_TIMEOUT_MS,
  type E2EServer,
  horizontalOverflow,
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

describe('sign-in through the /login form (real browser)', () => {
  let browser: Browser;
  let server: E2EServer;

  beforeAll(async () => {
    browser = await launchBrowser();
    server = await startE2EServer();
    await createUser(server, 'alice', { roles: ['admin'], displayName: 'Alice Admin' });
    await createUser(server, 'bob', { displayName: 'Bob Builder' });
    await createUser(server, 'carol');
    await createUser(server, 'dave');
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('the form has username, password, remember and a submit button, and signing in lands on /account', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const response = await page.goto(`${server.url}/login`);
    expect(response?.status()).toBe(200);
    const form = page.locator('form[action="/login"]');
    expect(await form.getAttribute('method')).toBe('post');
    expect(await form.locator('input[name="username"]').count()).toBe(1);
    expect(await form.locator('input[name="password"][type="password"]').count()).toBe(1);
    expect(await form.locator('input[name="remember"][type="checkbox"]').count()).toBe(1);
    expect(await form.locator('button[type="submit"]').count()).toBe(1);
    // A fresh form starts in the username field.
    expect(await page.evaluate<string>('document.activeElement && document.activeElement.name')).toBe(
      'username',
    );
    await shot(page, 'login');

    const landed = await signIn(page, server.url, 'bob', PASSWORD, { navigate: false });
    expect(landed?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/account');
    expect(await textOf(page.locator('h1'))).toContain('Bob Builder');
    expect(await whoAmI(context, server.url)).toEqual({ status: 200, username: 'bob' });
    await context.close();
  });

  it('a signed-out visit to /account goes to /login?next=/account and comes back after sign-in', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${server.url}/account`);
    const atLogin = new URL(page.url());
    expect(atLogin.pathname).toBe('/login');
    expect(atLogin.searchParams.get('next')).toBe('/account');
    await signIn(page, server.url, 'bob', PASSWORD, { navigate: false });
    expect(new URL(page.url()).pathname).toBe('/account');
    await context.close();
  });

  it('?next=/admin brings an admin to /admin after sign-in', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${server.url}/admin`);
    expect(new URL(page.url()).searchParams.get('next')).toBe('/admin');
    const landed = await signIn(page, server.url, 'alice', PASSWORD, { navigate: false });
    expect(landed?.status()).toBe(200);
    expect(page.url()).toBe(`${server.url}/admin`);
    expect(await textOf(page.locator('h1'))).toBe('Users');
    await context.close();
  });

  // `/.//evil.test` and `/%2e%2e//evil.test` normalise to `//evil.test`: the dot-segment open redirect.
  for (const next of [
    '//evil.test',
    'https://evil.test',
    '/\\evil.test',
    '/%5Cevil.test',
    '///evil.test',
    '/.//evil.test',
    '/%2e%2e//evil.test',
  ]) {
    it(`an open-redirect attempt next=${next} ends on /account on our own origin`, async () => {
      const context = await newContext(browser);
      const page = await context.newPage();
      // Through the query string (what a phishing link would carry)...
      await signIn(page, server.url, 'bob', PASSWORD, { path: `/login?next=${encodeURIComponent(next)}` });
      expect(page.url()).toBe(`${server.url}/account`);
      // ...and with the hidden field tampered with before the POST.
      await context.clearCookies();
      await page.goto(`${server.url}/login`);
      await page.locator('input[name="next"]').evaluate((el, value) => {
        (el as unknown as { value: string }).value = value;
      }, next);
      await signIn(page, server.url, 'bob', PASSWORD, { navigate: false });
      expect(page.url()).toBe(`${server.url}/account`);
      await context.close();
    });
  }

  it('a wrong password shows "Wrong username or password." on a normal 401 HTML page and keeps the username', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const response = await signIn(page, server.url, 'carol', 'not the password at all');
    expect(response?.status()).toBe(401);
    expect(response?.headers()['content-type']).toMatch(/^text\/html/);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await textOf(page.locator('[role="alert"]'))).toContain('Wrong username or password.');
    expect(await page.locator('input[name="username"]').inputValue()).toBe('carol');
    expect(await page.locator('input[name="password"]').inputValue()).toBe('');
    // The password is what to type again: the focus is there already (autofocus, no script).
    expect(await page.evaluate<string>('document.activeElement && document.activeElement.name')).toBe(
      'password',
    );
    expect(await page.locator('link[rel="stylesheet"]').count()).toBe(1);
    await shot(page, 'login-error');
    // No session was made, and the re-shown form still works with the right password.
    expect((await whoAmI(context, server.url)).status).toBe(401);
    await page.locator('input[name="password"]').fill(PASSWORD);
    await submit(page, () => page.locator('form[action="/login"] button[type="submit"]').click());
    expect(new URL(page.url()).pathname).toBe('/account');
    await context.close();
  });

  it('an unknown user gets the very same answer as a wrong password', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const response = await signIn(page, server.url, 'nobody-here', 'whatever password');
    expect(response?.status()).toBe(401);
    expect(await textOf(page.locator('[role="alert"]'))).toContain('Wrong username or password.');
    await context.close();
  });

  it('after 5 wrong passwords the form answers 429 "Too many failed sign-ins", even with the right password', async () => {
    await createUser(server, 'zed');
    const context = await newContext(browser);
    const page = await context.newPage();
    for (let i = 0; i < 5; i++) {
      expect((await signIn(page, server.url, 'zed', `wrong password ${i}`))?.status()).toBe(401);
    }
    const throttled = await signIn(page, server.url, 'zed', PASSWORD);
    expect(throttled?.status()).toBe(429);
    expect(throttled?.headers()['retry-after']).toMatch(/^\d+$/);
    expect(await textOf(page.locator('[role="alert"]'))).toMatch(
      /Too many failed sign-ins\. Try again in \d+ minutes?\./,
    );
    expect((await whoAmI(context, server.url)).status).toBe(401);
    await context.close();
  });

  it('without "remember me" the session cookie is HttpOnly, SameSite=Lax, Path=/ and a browser-session cookie', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, server.url, 'dave');
    const cookies = await context.cookies(server.url);
    const session = cookies.find((c) => c.name === 'cloakroom');
    expect(session, JSON.stringify(cookies)).toBeDefined();
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', expires: -1, secure: false });
    expect(session!.domain).toBe('127.0.0.1');
    // Scripts cannot read the ticket.
    const visible = await page.evaluate<string>('document.cookie');
    expect(visible).not.toContain(session!.value);
    expect(visible).not.toMatch(/(^|;\s*)cloakroom=/);
    // No user data in any cookie: the value is only token.signature.
    expect(session!.value).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]+$/);
    for (const c of cookies) expect(c.value).not.toContain('dave');
    await context.close();
  });

  it('with "remember me" ticked the session cookie gets a positive expiry (about 30 days)', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, server.url, 'dave', PASSWORD, { remember: true });
    expect(new URL(page.url()).pathname).toBe('/account');
    const session = (await context.cookies(server.url)).find((c) => c.name === 'cloakroom');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    const days = (session!.expires - Date.now() / 1000) / 86_400;
    expect(days).toBeGreaterThan(29);
    expect(days).toBeLessThanOrEqual(30.01);
    await context.close();
  });

  it('works with JavaScript disabled', async () => {
    const context = await newContext(browser, { javaScriptEnabled: false });
    const page = await context.newPage();
    const landed = await signIn(page, server.url, 'bob', PASSWORD, { path: '/login?next=/account' });
    expect(landed?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/account');
    expect(await textOf(page.locator('h1'))).toContain('Bob Builder');
    // Signing out is a plain form too.
    await submit(page, () => page.locator('main form[action$="logout"] button').click());
    expect(new URL(page.url()).pathname).toBe('/login');
    await context.close();
  });

  it('/login sends a strict CSP (no inline script, no framing) and the other security headers; /account is no-store', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const login = await page.goto(`${server.url}/login`);
    const headers = login!.headers();
    const csp = headers['content-security-policy'] ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBeTruthy();
    expect(headers['cache-control']).toContain('no-store');

    await signIn(page, server.url, 'bob', PASSWORD, { navigate: false });
    const account = await page.goto(`${server.url}/account`);
    expect(account?.status()).toBe(200);
    expect(account!.headers()['cache-control']).toContain('no-store');
    expect(account!.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    await context.close();
  });

  it('the login page is usable on a phone (390x844): no horizontal scrolling, full-width form', async () => {
    const context = await newContext(browser, {
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    const page = await context.newPage();
    await page.goto(`${server.url}/login`);
    expect(await horizontalOverflow(page)).toBe(0);
    const box = await page.locator('input[name="username"]').boundingBox();
    expect(box!.width).toBeGreaterThan(250);
    await shot(page, 'login-mobile');
    await signIn(page, server.url, 'bob', PASSWORD, { navigate: false });
    expect(new URL(page.url()).pathname).toBe('/account');
    expect(await horizontalOverflow(page)).toBe(0);
    await shot(page, 'account-mobile');
    await context.close();
  });
});
