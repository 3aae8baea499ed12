import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import {
  createUser,
  E2E_TIMEOUT_MS,
  type E2EServer,
  flashText,
  horizontalOverflow,
  launchBrowser,
  newContext,
  PASSWORD,
  shot,
  signIn,
  startE2EServer,
  submit,
  textOf,
  totpCode,
  whoAmI,
} from './support.js';

vi.setConfig({ testTimeout: E2E_TIMEOUT_MS * 3, hookTimeout: E2E_TIMEOUT_MS });

// The whole life of a second factor in real Chromium, pages only, no script: set it up on
// /account/second-factor (the key read off the page, codes computed with otpauth), sign in with
// password and code, a sensitive change after the re-auth window goes through /reauth and comes
// back, sign in with a recovery code, and an admin's recovery link sets a new password in a
// fresh browser. The server's clock is a manual one: a new TOTP code needs the next 30-second
// step (a code is accepted once), and "after the window" is a step of the clock.

/** A 30-second TOTP step. */
const STEP = 30_000;
const WINDOW = '2m';

describe('two-step sign-in, re-authentication and a recovery link (real browser)', () => {
  let browser: Browser;
  let server: E2EServer;
  let clock: ManualClock;

  beforeAll(async () => {
    browser = await launchBrowser();
    clock = manualClock(Date.UTC(2026, 10, 24, 9, 14));
    server = await startE2EServer({ CLOAKROOM_REAUTH_WINDOW: WINDOW }, { clock });
    await createUser(server, 'root', { roles: ['admin'], displayName: 'Root Admin' });
    await createUser(server, 'dana', { displayName: 'Dana Doe' });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const path = (page: Page) => new URL(page.url()).pathname;
  const signOut = async (page: Page) => {
    await submit(page, () => page.locator('header form[action="/logout"] button').click());
    expect(path(page)).toBe('/login');
  };
  /** Enters the current code on the page's code field (the next step's: the last one is used). */
  const enterCode = async (page: Page, key: string, field = '#code') => {
    clock.advance(STEP);
    await page.locator(field).fill(totpCode(key, clock.now()));
  };

  it('enrol → sign in with a code → re-auth after the window → recovery code → recovery link', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();

    // 1. Signed in with the password only; the account page says two-step sign-in is off.
    await signIn(page, server.url, 'dana');
    expect(path(page)).toBe('/account');
    const section = page.locator('section[aria-labelledby="factor-h"]');
    expect(await textOf(section)).toContain('off');
    await submit(page, () => section.locator('a[href="/account/second-factor"]').click());
    expect(path(page)).toBe('/account/second-factor');

    // 2. Set up: a QR code drawn inline as SVG, and the key as text in groups of four.
    await submit(page, () => page.locator('form[action="/account/second-factor/totp"] button').click());
    const qr = page.locator('figure.qr svg');
    expect(await qr.count()).toBe(1);
    expect(await qr.getAttribute('role')).toBe('img');
    const box = await qr.boundingBox();
    expect(box?.width).toBeGreaterThan(150);
    const key = (await textOf(page.locator('#totp-key'))).trim();
    expect(key).toMatch(/^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/);
    const codeField = page.locator('#code');
    expect(await codeField.getAttribute('inputmode')).toBe('numeric');
    expect(await codeField.getAttribute('autocomplete')).toBe('one-time-code');
    await shot(page, 'flow-enrol');
    // A wrong code first: the page says so and nothing is on.
    await codeField.fill('000000');
    const wrong = await submit(page, () => page.locator('form[action$="/totp/confirm"] button').click());
    expect(wrong?.status()).toBe(401);
    expect(await textOf(page.locator('.flash.error'))).toContain('That code is not right');
    // The same key again (the app holds it), so its next code turns it on.
    expect((await textOf(page.locator('#totp-key'))).trim()).toBe(key);
    expect(await page.locator('figure.qr svg').count()).toBe(1);
    await page.locator('#code').fill(totpCode(key, clock.now()));
    await submit(page, () => page.locator('form[action$="/totp/confirm"] button').click());

    // 3. Ten recovery codes, shown once; note one.
    const codes = await page.locator('ol.codes code').allInnerTexts();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    const recoveryCode = codes[3]!;
    await shot(page, 'flow-recovery-codes');
    await submit(page, () => page.locator('a', { hasText: 'Done, I saved them' }).click());
    expect(path(page)).toBe('/account/second-factor');
    expect(await flashText(page)).toBe('Two-step sign-in is on.');
    // The codes are not on any page any more, and the account page says on, 10 left.
    expect(await page.content()).not.toContain(recoveryCode);
    await page.goto(`${server.url}/account`);
    expect(await textOf(section)).toContain('10 recovery codes left');
    await signOut(page);

    // 4. Password, then the code: the session exists only after the second step.
    await signIn(page, server.url, 'dana');
    expect(path(page)).toBe('/login/second-factor');
    expect((await whoAmI(context, server.url)).status).toBe(401);
    expect(await textOf(page.locator('main'))).toContain('Signing in as dana');
    await shot(page, 'flow-second-step');
    await enterCode(page, key);
    await submit(page, () =>
      page.locator('form[action="/login/second-factor"] button[type="submit"]').first().click(),
    );
    expect(path(page)).toBe('/account');
    expect(await whoAmI(context, server.url)).toEqual({ status: 200, username: 'dana' });

    // 5. After the re-auth window, changing the password first asks to confirm it's you
    //    (password and code), then comes back to the account page, where the change goes through.
    clock.advance(2 * 60_000 + 1);
    await page.reload();
    const fresh = 'she picked a new passphrase';
    const fillPassword = async () => {
      await page.locator('#currentPassword').fill(PASSWORD);
      await page.locator('#newPassword').fill(fresh);
      await page.locator('#confirmPassword').fill(fresh);
      return submit(page, () =>
        page.locator('form[action="/account/password"] button[type="submit"]').click(),
      );
    };
    await fillPassword();
    expect(path(page)).toBe('/reauth');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/account');
    expect(await page.locator('#code').count()).toBe(1);
    await shot(page, 'flow-reauth');
    await page.locator('#password').fill(PASSWORD);
    await enterCode(page, key);
    await submit(page, () => page.locator('form[action="/reauth"] button[type="submit"]').click());
    expect(path(page)).toBe('/account');
    await fillPassword();
    expect(path(page)).toBe('/account');
    expect(await flashText(page)).toBe('Password changed. Every other device was signed out.');
    await signOut(page);

    // 6. Lost the phone: the noted recovery code signs in, once.
    await signIn(page, server.url, 'dana', fresh);
    expect(path(page)).toBe('/login/second-factor');
    await page.locator('summary', { hasText: 'Use a recovery code' }).click();
    await page.locator('#recoveryCode').fill(recoveryCode);
    await submit(page, () => page.locator('button', { hasText: 'Sign in with a recovery code' }).click());
    expect(path(page)).toBe('/account');
    expect(await flashText(page)).toContain('You signed in with a recovery code: 9 left.');
    await signOut(page);
    await context.close();

    // 7. An admin makes a recovery link that also removes the second factor.
    const admin = await newContext(browser);
    const adminPage = await admin.newPage();
    await signIn(adminPage, server.url, 'root');
    await adminPage.goto(`${server.url}/admin`);
    const row = adminPage.locator('tr[data-user="dana"]');
    expect((await textOf(row.locator('td[data-label="2FA"] .tag'))).trim()).toBe('on');
    await row.locator('summary', { hasText: 'Recovery link' }).click();
    await row.locator('input[name="clearSecondFactor"]').check();
    await submit(adminPage, () => row.locator('button', { hasText: 'Create link' }).click());
    const link = await adminPage.locator('#recovery-url').inputValue();
    expect(link).toMatch(new RegExp(`^${server.url}/recover\\?token=[\\w.-]{20,}$`));
    expect(await textOf(adminPage.locator('main'))).toContain('(1 hour)');
    await shot(adminPage, 'flow-recovery-link');
    await admin.close();

    // 8. Dana opens it in a fresh browser, sets a new password, and signs in with it alone. The
    //    token is in a URL for the first request only: the page is /recover, and neither its
    //    stylesheet request nor the form post carries the token in its URL or Referer.
    const later = await newContext(browser);
    const p = await later.newPage();
    const token = new URL(link).searchParams.get('token')!;
    const requests: Array<Promise<{ url: string; referer: string }>> = [];
    p.on('request', (request) =>
      requests.push(request.allHeaders().then((h) => ({ url: request.url(), referer: h.referer ?? '' }))),
    );
    await p.goto(link);
    expect(p.url()).toBe(`${server.url}/recover`);
    expect(await textOf(p.locator('main'))).toContain('Dana Doe');
    await shot(p, 'flow-recover');
    const newest = 'back in through a recovery link';
    await p.locator('#newPassword').fill(newest);
    await p.locator('#confirmPassword').fill(newest);
    await submit(p, () => p.locator('form[action="/recover"] button[type="submit"]').click());
    expect(path(p)).toBe('/login');
    expect(await flashText(p)).toBe('Password set; sign in with it.');
    const seen = await Promise.all(requests);
    expect(seen.map((r) => new URL(r.url).pathname)).toEqual(
      expect.arrayContaining(['/recover', '/assets/cloakroom.css']),
    );
    expect(seen.filter((r) => r.url.includes(token) || r.referer.includes(token))).toEqual([
      { url: link, referer: '' },
    ]);
    await signIn(p, server.url, 'dana', newest, { navigate: false });
    expect(path(p)).toBe('/account');
    expect(await textOf(p.locator('section[aria-labelledby="factor-h"]'))).toContain('off');
    // The link is spent.
    const again = await p.goto(link);
    expect(again?.status()).toBe(404);
    expect(await horizontalOverflow(p)).toBe(0);
    await later.close();
  });

  it('the re-auth window really passes: after 2 s, "Sign out everywhere else" asks for the password, then goes through', async () => {
    // The one test that waits on the real clock (CLOAKROOM_REAUTH_WINDOW=2s) rather than stepping it.
    const real = await startE2EServer({ CLOAKROOM_REAUTH_WINDOW: '2s' });
    try {
      await createUser(real, 'erin');
      const other = await newContext(browser);
      await signIn(await other.newPage(), real.url, 'erin');
      const context = await newContext(browser);
      const page = await context.newPage();
      await signIn(page, real.url, 'erin');
      const everywhere = () =>
        submit(page, () => page.locator('form[action="/account/sessions/revoke-others"] button').click());
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      await everywhere();
      expect(path(page)).toBe('/reauth');
      expect(await page.locator('#code').count()).toBe(0);
      await page.locator('#password').fill(PASSWORD);
      await submit(page, () => page.locator('form[action="/reauth"] button[type="submit"]').click());
      expect(path(page)).toBe('/account');
      await everywhere();
      expect(path(page)).toBe('/account');
      expect(await flashText(page)).toBe('Signed out everywhere else: 1 other session(s) ended.');
      expect((await whoAmI(other, real.url)).status).toBe(401);
      await other.close();
      await context.close();
    } finally {
      await real.close();
    }
  });
});
