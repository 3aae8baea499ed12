import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import {
  addVirtualAuthenticator,
  createUser,
  cspOf,
  E2E_TIMEOUT_MS,
  enrolSecondFactor,
  flashText,
  launchBrowser,
  newContext,
  PASSWORD,
  type PasskeyServer,
  peekWebauthnCalls,
  setAutofill,
  signIn,
  startPasskeyServer,
  steerAutofill,
  submit,
  textOf,
  watchPolicyErrors,
  webauthnCalls,
  whoAmI,
} from './support.js';

vi.setConfig({ testTimeout: E2E_TIMEOUT_MS * 3, hookTimeout: E2E_TIMEOUT_MS });

// Passkeys in real Chromium, on SQLite: its virtual authenticator (DevTools protocol) answers
// WebAuthn with real keys and signatures, and the server verifies them. One person's passkey life
// on the pages: added on /account/passkeys after confirming it's her (its recovery codes shown
// once), signing in with the button, by autofill, and as the second step after a password,
// confirming it's her with it, a second (synced) passkey from a phone, rename and remove with
// script turned off, and the removed passkey refused. Then: an assertion made on another origin
// is refused; the CSP allows the one script exactly on the pages that load it; with passkeys off
// nothing of it shows.

const NOW = Date.UTC(2026, 10, 24, 9, 14);
const WINDOW = '2m';
/** Past the re-authentication window. */
const LATER = 2 * 60_000 + 1_000;

/** The CSP of every page without the module (security-headers.ts). */
const STRICT =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** The CSP of the pages that load /assets/passkeys.js. */
const WITH_MODULE = `${STRICT}; script-src 'self'; connect-src 'self'; require-trusted-types-for 'script'; trusted-types 'none'`;

const path = (page: Page) => new URL(page.url()).pathname;

async function signOut(page: Page): Promise<void> {
  await submit(page, () => page.locator('header form[action="/logout"] button').click());
  expect(path(page)).toBe('/login');
}

/** The text of a passkey part's status line once it says something. */
async function statusOf(part: Locator): Promise<string> {
  const status = part.locator('[data-passkey-status]');
  await status.filter({ hasText: /\S/ }).waitFor();
  return (await textOf(status)).trim();
}

/** `X-Auth-Methods` of the browser's session, as forward auth reports it. */
async function methodsOf(context: BrowserContext, url: string): Promise<string | undefined> {
  const answer = await context.request.get(`${url}/auth/verify`, { failOnStatusCode: false });
  return answer.headers()['x-auth-methods'];
}

/** Whether the page loads the module and has no other script. */
async function scripts(page: Page): Promise<string[]> {
  return page.locator('script').evaluateAll((nodes) =>
    nodes.map((n) => {
      const el = n as unknown as { getAttribute(name: string): string | null; textContent: string | null };
      return `${el.getAttribute('type')} ${el.getAttribute('src')} ${el.textContent?.length ?? 0}`;
    }),
  );
}

describe('passkeys in real Chromium (SQLite)', () => {
  let browser: Browser;
  let server: PasskeyServer;
  let clock: ManualClock;
  let piaId: string;

  beforeAll(async () => {
    browser = await launchBrowser();
    clock = manualClock(NOW);
    server = await startPasskeyServer({ CLOAKROOM_REAUTH_WINDOW: WINDOW }, { clock });
    piaId = (await createUser(server, 'pia', { displayName: 'Pia Passkey' })).id;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('add after re-auth (codes once), sign in by button, by autofill, after a password; re-auth; a synced second; rename and remove without script; the removed one is refused', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const problems = watchPolicyErrors(page);
    await steerAutofill(page);
    const laptop = await addVirtualAuthenticator(page);

    // 1. Password sign-in; the account page has a Passkeys section: none yet.
    await signIn(page, server.url, 'pia');
    expect(path(page)).toBe('/account');
    const section = page.locator('section[aria-labelledby="passkeys-h"]');
    expect(await textOf(section)).toContain('none');

    // 2. Outside the re-auth window the page offers "Confirm it's you" instead of the form; after
    //    the password the browser is back, and the form (shown by the module) is there.
    clock.advance(LATER);
    await submit(page, () => section.locator('a[href="/account/passkeys"]').click());
    expect(path(page)).toBe('/account/passkeys');
    expect(await page.locator('form[data-passkey="register"]').count()).toBe(0);
    await submit(page, () => page.locator('a', { hasText: 'Confirm it’s you' }).click());
    expect(path(page)).toBe('/reauth');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/account/passkeys');
    expect(await page.locator('[data-passkey]').count()).toBe(0); // no passkey yet to confirm with
    await page.locator('#password').fill(PASSWORD);
    await submit(page, () => page.locator('form[action="/reauth"] button[type="submit"]').click());
    expect(path(page)).toBe('/account/passkeys');
    const form = page.locator('form[data-passkey="register"]');
    await form.waitFor({ state: 'visible' });
    expect(await page.locator('[data-passkey-fallback]').isHidden()).toBe(true);

    // 3. Add one: the virtual authenticator makes it; the ten recovery codes are shown once.
    await page.locator('#passkey-name').fill('Laptop');
    await form.locator('button[type="submit"]').click();
    const codesSection = page.locator('section[data-passkey-codes]');
    await codesSection.waitFor({ state: 'visible' });
    const codes = await codesSection.locator('ol.codes code').allInnerTexts();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    expect(await page.locator('section[aria-labelledby="add-h"]').isHidden()).toBe(true);
    expect(await page.evaluate('document.activeElement.id')).toBe('codes-h');
    const held = await laptop.credentials();
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ rpId: 'localhost', isResidentCredential: true });
    // The user handle is the user id (never the username).
    expect(Buffer.from(held[0]!.userHandle!, 'base64').toString()).toBe(piaId);
    await submit(page, () => codesSection.locator('a', { hasText: 'Done, I saved them' }).click());
    expect(await flashText(page)).toBe('Passkey “Laptop” added. It can sign you in from now on.');
    const rows = page.locator('tr[data-passkey-id]');
    expect(await rows.count()).toBe(1);
    const row = await textOf(rows.first());
    expect(row).toContain('Laptop');
    expect(row).toContain('never');
    expect(row).toContain('this device only');
    expect(await page.content()).not.toContain(codes[0]!);
    // The same authenticator cannot make a second one for this account (excludeCredentials):
    // the browser refuses, and the page says so where the button is (aria-live).
    await page.locator('#passkey-name').fill('Again');
    await form.locator('button[type="submit"]').click();
    expect(await statusOf(form)).toBe('This device already holds a passkey for your account.');
    expect(await form.locator('[data-passkey-status]').getAttribute('aria-live')).toBe('polite');
    expect(await laptop.credentials()).toHaveLength(1);

    // 4. Passwordless, with the button: a session with `hwk`, which counts as two factors.
    await signOut(page);
    const button = page.locator('[data-passkey="signin"] button');
    await button.waitFor({ state: 'visible' });
    expect(await page.locator('#username').getAttribute('autocomplete')).toBe('username webauthn');
    await submit(page, () => button.click());
    expect(path(page)).toBe('/account');
    expect(await webauthnCalls(page)).toEqual(['modal']);
    expect(await whoAmI(context, server.url)).toEqual({ status: 200, username: 'pia' });
    expect(await methodsOf(context, server.url)).toBe('hwk');
    const mfa = await context.request.get(`${server.url}/auth/verify?mfa=1`, { failOnStatusCode: false });
    expect(mfa.status()).toBe(200);
    // `next` goes through the server's safeNext: a same-origin path, never another site.
    await signOut(page);
    await page.goto(`${server.url}/login?next=${encodeURIComponent('/account/passkeys')}`);
    await submit(page, () => button.click());
    expect(path(page)).toBe('/account/passkeys');
    await signOut(page);
    await page.goto(`${server.url}/login?next=${encodeURIComponent('//evil.example/x')}`);
    expect(await page.locator('[data-passkey="signin"]').getAttribute('data-next')).toBe('/account');
    await submit(page, () => button.click());
    expect(page.url()).toBe(`${server.url}/account`);
    // And the module checks once more what it navigates to: a tampered data-next goes nowhere else.
    for (const evil of ['https://evil.example/', '//evil.example/', '/\\evil.example/']) {
      await signOut(page);
      await page
        .locator('[data-passkey="signin"]')
        .evaluate((el, to) => ((el as unknown as { dataset: { next: string } }).dataset.next = to), evil);
      await submit(page, () => button.click());
      expect(page.url(), evil).toBe(`${server.url}/account`);
    }
    await webauthnCalls(page);

    // 5. Autofill (conditional mediation): Chromium's virtual authenticator answers it at once,
    //    as if the first passkey had been picked from the username field's list.
    await setAutofill(page, 'real');
    await signOut(page);
    await page.waitForURL(`${server.url}/account`);
    expect(await webauthnCalls(page)).toEqual(['conditional']);
    expect(await methodsOf(context, server.url)).toBe('hwk');

    // 6. The button aborts a pending autofill request before its own (the browser allows one
    //    request at a time): held open here, as while a person has not picked a passkey yet.
    await setAutofill(page, 'hold');
    await signOut(page);
    // Polled with page.evaluate (DevTools' own evaluation): page.waitForFunction evaluates its
    // predicate with eval inside the page, which the page's CSP (script-src 'self') refuses.
    await expect.poll(() => peekWebauthnCalls(page)).toContain('conditional');
    await submit(page, () => button.click());
    expect(path(page)).toBe('/account');
    expect(await webauthnCalls(page)).toEqual(['conditional', 'conditional-aborted', 'modal']);
    await setAutofill(page, 'off');

    // 7. The second step after a password: a passkey (no code field: she has no authenticator
    //    app), a recovery code behind "Lost your passkey?".
    await signOut(page);
    await signIn(page, server.url, 'pia', PASSWORD, { navigate: false });
    expect(path(page)).toBe('/login/second-factor');
    expect(await whoAmI(context, server.url)).toMatchObject({ status: 401 });
    expect(await page.locator('#code').count()).toBe(0);
    expect(await textOf(page.locator('details.alt summary'))).toBe('Lost your passkey? Use a recovery code');
    const second = page.locator('[data-passkey="second-factor"] button');
    await second.waitFor({ state: 'visible' });
    expect((await textOf(second)).trim()).toBe('Use a passkey');
    await submit(page, () => second.click());
    expect(path(page)).toBe('/account');
    expect(await methodsOf(context, server.url)).toBe('pwd,hwk');

    // 8. Confirming it's her with the passkey, after the window.
    clock.advance(LATER);
    await page.goto(`${server.url}/account/passkeys`);
    await submit(page, () => page.locator('a', { hasText: 'Confirm it’s you' }).click());
    expect(path(page)).toBe('/reauth');
    expect(await page.locator('#recoveryCode').getAttribute('required')).not.toBeNull();
    const confirm = page.locator('[data-passkey="reauth"] button');
    await confirm.waitFor({ state: 'visible' });
    await submit(page, () => confirm.click());
    expect(path(page)).toBe('/account/passkeys');
    await form.waitFor({ state: 'visible' });
    // The window closes while the page is open: "Add a passkey" goes through /reauth itself.
    clock.advance(LATER);
    await page.locator('#passkey-name').fill('Too late');
    await submit(page, () => form.locator('button[type="submit"]').click());
    expect(path(page)).toBe('/reauth');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/account/passkeys');
    await confirm.waitFor({ state: 'visible' });
    await submit(page, () => confirm.click());
    await form.waitFor({ state: 'visible' });
    expect(await laptop.credentials()).toHaveLength(1);

    // 9. A phone with a synced passkey (a password manager's: backed up), signed in with the
    //    password and a recovery code; its first page is recent, so it adds one at once, and no
    //    new codes (she has them).
    const phoneContext = await newContext(browser, {
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const phone = await phoneContext.newPage();
    const phoneProblems = watchPolicyErrors(phone);
    await steerAutofill(phone);
    const synced = await addVirtualAuthenticator(phone, { synced: true });
    await signIn(phone, server.url, 'pia');
    expect(path(phone)).toBe('/login/second-factor');
    await phone.locator('details.alt summary').click();
    await phone.locator('#recoveryCode').fill(codes[0]!);
    await submit(phone, () => phone.locator('button', { hasText: 'Sign in with a recovery code' }).click());
    expect(path(phone)).toBe('/account');
    await phone.goto(`${server.url}/account/passkeys`);
    await phone.locator('#passkey-name').fill('Phone');
    await submit(phone, () => phone.locator('form[data-passkey="register"] button[type="submit"]').click());
    expect(await flashText(phone)).toBe('Passkey “Phone” added. It can sign you in from now on.');
    expect(await synced.credentials()).toHaveLength(1);
    const phoneRow = phone.locator('tr[data-passkey-id]', { hasText: 'Phone' });
    expect(await textOf(phoneRow)).toContain('synced');
    expect(await phone.locator('tr[data-passkey-id]').count()).toBe(2);
    expect(phoneProblems).toEqual([]);
    await phoneContext.close();

    // 10. Rename and remove are plain forms: they work with script turned off (where the add
    //     form and every passkey button stay hidden, and the page says what to do instead).
    const plain = await newContext(browser, { javaScriptEnabled: false });
    const noJs = await plain.newPage();
    await signIn(noJs, server.url, 'pia');
    expect(await noJs.locator('[data-passkey="second-factor"]').isHidden()).toBe(true);
    await noJs.locator('details.alt summary').click();
    await noJs.locator('#recoveryCode').fill(codes[1]!);
    await submit(noJs, () => noJs.locator('button', { hasText: 'Sign in with a recovery code' }).click());
    await noJs.goto(`${server.url}/account/passkeys`);
    expect(await noJs.locator('form[data-passkey="register"]').isHidden()).toBe(true);
    expect(await noJs.locator('[data-passkey-fallback]').isVisible()).toBe(true);
    const laptopRow = noJs.locator('tr[data-passkey-id]', { hasText: 'Laptop' });
    await laptopRow.locator('summary', { hasText: 'Rename' }).click();
    await laptopRow.locator('input[name="name"]').fill('Work laptop');
    await submit(noJs, () => laptopRow.locator('button', { hasText: 'Save name' }).click());
    expect(await flashText(noJs)).toBe('Passkey renamed.');
    const renamed = noJs.locator('tr[data-passkey-id]', { hasText: 'Work laptop' });
    expect(await renamed.count()).toBe(1);
    // A name of spaces only is refused by the account action, with its reason, nothing changed.
    await renamed.locator('summary', { hasText: 'Rename' }).click();
    await renamed.locator('input[name="name"]').fill('   ');
    const refusedRename = await submit(noJs, () =>
      renamed.locator('button', { hasText: 'Save name' }).click(),
    );
    expect(refusedRename?.status()).toBe(400);
    expect(await noJs.locator('tr[data-passkey-id]', { hasText: 'Work laptop' }).count()).toBe(1);
    await noJs
      .locator('tr[data-passkey-id]', { hasText: 'Work laptop' })
      .locator('summary', { hasText: 'Remove' })
      .click();
    await submit(noJs, () =>
      noJs
        .locator('tr[data-passkey-id]', { hasText: 'Work laptop' })
        .locator('button', { hasText: 'Remove passkey' })
        .click(),
    );
    expect(await flashText(noJs)).toBe('Passkey removed. It no longer signs you in.');
    expect(await noJs.locator('tr[data-passkey-id]').count()).toBe(1);
    await plain.close();

    // 11. The laptop still holds the removed passkey: the server refuses it (401), the page says
    //     so, and nobody is signed in.
    await signOut(page);
    await button.waitFor({ state: 'visible' });
    const refused = page.waitForResponse((r) => r.url().endsWith('/api/login/passkey'));
    await button.click();
    expect((await refused).status()).toBe(401);
    expect(await statusOf(page.locator('[data-passkey="signin"]'))).toBe(
      'That passkey could not be verified for this account.',
    );
    expect(path(page)).toBe('/login');
    expect((await whoAmI(context, server.url)).status).toBe(401);
    expect(server.logs.some((l) => l.event === 'passkey.failure')).toBe(true);

    expect(problems).toEqual([]);
    await context.close();
  });

  it('an assertion made on another origin (same RP ID, another port) is refused: 401, no session', async () => {
    await createUser(server, 'otto');
    const context = await newContext(browser);
    const page = await context.newPage();
    await steerAutofill(page);
    await addVirtualAuthenticator(page);
    await signIn(page, server.url, 'otto');
    await page.goto(`${server.url}/account/passkeys`);
    await page.locator('#passkey-name').fill('Otto’s laptop');
    await page.locator('form[data-passkey="register"] button[type="submit"]').click();
    await page.locator('section[data-passkey-codes]').waitFor({ state: 'visible' });

    // Another origin on the same host: http://localhost:<other port>. A passkey is scoped to the
    // RP ID (`localhost`), not to the origin, so the browser signs there too; the origin it
    // signed for is in clientDataJSON, and the server must refuse it.
    const elsewhere = await staticPage();
    try {
      const assertion = async (where: string) => {
        // A fresh challenge from the real server, with its ceremony cookie, fetched from Node.
        const begun = await fetch(`${server.url}/api/login/passkey/options`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        expect(begun.status).toBe(200);
        const cookie = begun.headers
          .getSetCookie()
          .map((c) => c.split(';')[0])
          .join('; ');
        const { options } = (await begun.json()) as { options: unknown };
        await page.goto(where);
        const response = (await page.evaluate(
          `(async (json) => (await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(json) })).toJSON())(${JSON.stringify(options)})`,
        )) as { response: { clientDataJSON: string } };
        const client = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString());
        const finish = await fetch(`${server.url}/api/login/passkey`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie },
          body: JSON.stringify({ response }),
        });
        return { client, finish };
      };

      const foreign = await assertion(`${elsewhere.url}/`);
      expect(foreign.client.origin).toBe(elsewhere.url);
      expect(foreign.finish.status).toBe(401);
      expect(await foreign.finish.json()).toMatchObject({ error: 'invalid_passkey' });
      const sessionCookies = foreign.finish.headers.getSetCookie().filter((c) => /^cloakroom=[^;]/.test(c));
      expect(sessionCookies).toEqual([]);

      // The control: the same steps on the real origin sign in. So the refusal above is the origin's.
      const home = await assertion(`${server.url}/account`);
      expect(home.client.origin).toBe(server.url);
      expect(home.finish.status).toBe(200);
      expect(home.finish.headers.getSetCookie().some((c) => /^cloakroom=[^;]/.test(c))).toBe(true);
    } finally {
      await elsewhere.close();
      await context.close();
    }
  });

  it('CSP: script-src only on the pages that load the module; no inline script; no policy errors', async () => {
    await createUser(server, 'tina');
    await enrolSecondFactor(server, 'tina');
    await createUser(server, 'cora');
    const context = await newContext(browser);
    const page = await context.newPage();
    const problems = watchPolicyErrors(page);
    await steerAutofill(page);
    await addVirtualAuthenticator(page);

    const expectPage = async (response: Awaited<ReturnType<Page['goto']>>, module: boolean, what: string) => {
      expect(await cspOf(response), what).toEqual([module ? WITH_MODULE : STRICT]);
      expect(await scripts(page), what).toEqual(module ? ['module /assets/passkeys.js 0'] : []);
    };
    await expectPage(await page.goto(`${server.url}/login`), true, '/login');
    // tina has an authenticator app and no passkey: her second step carries no script.
    await expectPage(
      await signIn(page, server.url, 'tina', PASSWORD, { navigate: false }),
      false,
      '/login/second-factor without a passkey',
    );
    expect(path(page)).toBe('/login/second-factor');
    await submit(page, () => page.locator('form[action="/login/second-factor/cancel"] button').click());

    // cora, before and after her first passkey.
    await signIn(page, server.url, 'cora', PASSWORD, { navigate: false });
    await expectPage(await page.goto(`${server.url}/account`), false, '/account');
    await expectPage(
      await page.goto(`${server.url}/reauth?next=/account`),
      false,
      '/reauth without a passkey',
    );
    // Two-step sign-in offers a passkey as the other way to a second step.
    await expectPage(await page.goto(`${server.url}/account/second-factor`), false, '/account/second-factor');
    expect(await page.locator('main a[href="/account/passkeys"]').count()).toBe(1);
    await expectPage(await page.goto(`${server.url}/account/passkeys`), true, '/account/passkeys');
    await page.locator('#passkey-name').fill('Cora’s laptop');
    await page.locator('form[data-passkey="register"] button[type="submit"]').click();
    await page.locator('section[data-passkey-codes]').waitFor({ state: 'visible' });
    await expectPage(await page.goto(`${server.url}/reauth?next=/account`), true, '/reauth with a passkey');
    await expectPage(await page.goto(`${server.url}/account/second-factor`), false, '/account/second-factor');
    await expectPage(await page.goto(`${server.url}/no-such-page`), false, '404');
    await page.goto(`${server.url}/account`);
    await signOut(page);
    await expectPage(
      await signIn(page, server.url, 'cora', PASSWORD, { navigate: false }),
      true,
      '/login/second-factor with a passkey',
    );
    const second = page.locator('[data-passkey="second-factor"] button');
    await second.waitFor({ state: 'visible' });
    await submit(page, () => second.click());
    expect(path(page)).toBe('/account');

    const module = await context.request.get(`${server.url}/assets/passkeys.js`);
    expect(module.headers()['content-type']).toBe('text/javascript; charset=utf-8');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('a browser without WebAuthn, or without its JSON helpers, keeps every passkey part hidden', async () => {
    await createUser(server, 'uma');
    for (const without of ['PublicKeyCredential', 'PublicKeyCredential.parseRequestOptionsFromJSON']) {
      const context = await newContext(browser);
      const page = await context.newPage();
      const problems = watchPolicyErrors(page);
      await page.addInitScript((name) => {
        const w = globalThis as unknown as Record<string, Record<string, unknown> | undefined>;
        if (name === 'PublicKeyCredential') delete w.PublicKeyCredential;
        else delete w.PublicKeyCredential?.parseRequestOptionsFromJSON;
      }, without);
      await page.goto(`${server.url}/login`);
      // The module has run (it is the page's last script): its parts are still hidden.
      await page.waitForLoadState('load');
      expect(await page.locator('[data-passkey="signin"]').isHidden(), without).toBe(true);
      await signIn(page, server.url, 'uma', PASSWORD, { navigate: false });
      await page.goto(`${server.url}/account/passkeys`);
      await page.waitForLoadState('load');
      expect(await page.locator('form[data-passkey="register"]').isHidden(), without).toBe(true);
      expect(await page.locator('[data-passkey-fallback]').isVisible(), without).toBe(true);
      expect(problems).toEqual([]);
      await context.close();
    }
  });

  it('a second step whose pending sign-in is gone goes back to /login and says why', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await steerAutofill(page);
    // cora has a passkey (the CSP test added it); this browser does not need it.
    await signIn(page, server.url, 'cora');
    expect(path(page)).toBe('/login/second-factor');
    await context.clearCookies({ name: 'cloakroom-pending' });
    const second = page.locator('[data-passkey="second-factor"] button');
    await second.waitFor({ state: 'visible' });
    await submit(page, () => second.click());
    expect(path(page)).toBe('/login');
    expect(await flashText(page)).toBe(
      'That sign-in took too long or was already finished. Please sign in again.',
    );
    await context.close();
  });

  it('passkeys off: no passkey UI, no script, /account/passkeys and the module are 404', async () => {
    const off = await startPasskeyServer({ CLOAKROOM_PASSKEYS: 'off' });
    try {
      await createUser(off, 'olga');
      const context = await newContext(browser);
      const page = await context.newPage();
      const login = await page.goto(`${off.url}/login`);
      expect(await cspOf(login)).toEqual([STRICT]);
      expect(await scripts(page)).toEqual([]);
      expect(await page.locator('[data-passkey]').count()).toBe(0);
      expect(await page.locator('#username').getAttribute('autocomplete')).toBe('username');
      await signIn(page, off.url, 'olga', PASSWORD, { navigate: false });
      expect(path(page)).toBe('/account');
      expect(await page.locator('section[aria-labelledby="passkeys-h"]').count()).toBe(0);
      await page.goto(`${off.url}/account/second-factor`);
      expect(await page.locator('a[href="/account/passkeys"]').count()).toBe(0);
      expect((await page.goto(`${off.url}/account/passkeys`))?.status()).toBe(404);
      expect(
        (await context.request.get(`${off.url}/assets/passkeys.js`, { failOnStatusCode: false })).status(),
      ).toBe(404);
      await context.close();
    } finally {
      await off.close();
    }
  });
});

/**
 * Another origin with the same RP ID: a blank page on http://localhost:<another port>, where the
 * test runs `navigator.credentials.get()` itself.
 */
async function staticPage(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>elsewhere</title><p>Another origin.</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
