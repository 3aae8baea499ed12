import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resetSecondFactor } from '../../packages/cloakroom/src/auth/index.js';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import {
  addVirtualAuthenticator,
  cardOverflow,
  createUser,
  E2E_TIMEOUT_MS,
  horizontalOverflow,
  launchBrowser,
  newContext,
  PASSWORD,
  type PasskeyServer,
  shot,
  signIn,
  startPasskeyServer,
  steerAutofill,
  submit,
  watchPolicyErrors,
} from './support.js';

vi.setConfig({ testTimeout: E2E_TIMEOUT_MS * 3, hookTimeout: E2E_TIMEOUT_MS });

// The passkey pages as a person sees them, light and dark, on a desktop and on a phone: nothing
// scrolls sideways and every card holds its content. Screenshots go to test/e2e/screenshots/;
// with UPDATE_DOCS_IMAGES=1 also to docs/images/ for docs/pages.md.

const UPDATE_DOCS = process.env.UPDATE_DOCS_IMAGES === '1';
/** A fixed "now": the dates on the pages, and so the screenshots, are the same every run. */
const NOW = Date.UTC(2026, 10, 24, 9, 14);
const LATER = 2 * 60_000 + 1_000;

const SCHEMES = ['light', 'dark'] as const;
const DEVICES: Array<{ name: string; options: BrowserContextOptions }> = [
  { name: 'desktop', options: { viewport: { width: 1280, height: 800 } } },
  {
    name: 'phone',
    options: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 },
  },
];

const path = (page: Page) => new URL(page.url()).pathname;

describe('the passkey pages, light and dark, desktop and phone (real browser)', () => {
  let browser: Browser;
  let server: PasskeyServer;
  let clock: ManualClock;
  let samId: string;

  beforeAll(async () => {
    browser = await launchBrowser();
    clock = manualClock(NOW);
    server = await startPasskeyServer({ CLOAKROOM_REAUTH_WINDOW: '2m' }, { clock });
    samId = (await createUser(server, 'sam', { displayName: 'Sam Sample' })).id;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const scheme of SCHEMES) {
    for (const device of DEVICES) {
      it(`${scheme}, ${device.name}: every passkey page fits; screenshots`, async () => {
        clock.set(NOW);
        const context = await newContext(browser, { ...device.options, colorScheme: scheme });
        const page = await context.newPage();
        const problems = watchPolicyErrors(page);
        await steerAutofill(page);
        let authenticator = await addVirtualAuthenticator(page);
        const take = async (name: string) => {
          expect(await horizontalOverflow(page), name).toBe(0);
          expect(await cardOverflow(page), name).toBe(0);
          await shot(page, `${name}-${device.name}-${scheme}`, { docs: UPDATE_DOCS });
        };
        const visible = (selector: string) => page.locator(selector).first().waitFor({ state: 'visible' });
        const signOut = () =>
          submit(page, () => page.locator('header form[action="/logout"] button').click());

        // /login with the passkey button.
        await page.goto(`${server.url}/login`);
        await visible('[data-passkey="signin"]');
        await take('login-passkey');

        // /account/passkeys: none yet; the add form; a first passkey's recovery codes.
        await signIn(page, server.url, 'sam', PASSWORD, { navigate: false });
        await page.goto(`${server.url}/account/passkeys`);
        await visible('form[data-passkey="register"]');
        await take('passkeys-add');
        await page.locator('#passkey-name').fill('Laptop');
        await page.locator('form[data-passkey="register"] button[type="submit"]').click();
        await visible('section[data-passkey-codes]');
        await take('passkeys-recovery-codes');
        await submit(page, () => page.locator('a', { hasText: 'Done, I saved them' }).click());

        // A second, synced one (a password manager's), made on another authenticator.
        await authenticator.cdp.send('WebAuthn.removeVirtualAuthenticator', {
          authenticatorId: authenticator.id,
        });
        authenticator = await addVirtualAuthenticator(page, { synced: true });
        await page.locator('#passkey-name').fill('Password manager');
        await submit(page, () => page.locator('form[data-passkey="register"] button[type="submit"]').click());
        expect(await page.locator('tr[data-passkey-id]').count()).toBe(2);

        // Signed in with it a little later: the account page, then the list with "last used".
        clock.advance(5 * 60_000);
        await signOut();
        await visible('[data-passkey="signin"]');
        await submit(page, () => page.locator('[data-passkey="signin"] button').click());
        expect(path(page)).toBe('/account');
        await take('account-passkeys');
        await page.goto(`${server.url}/account/passkeys`);
        await visible('form[data-passkey="register"]');
        await take('passkeys');
        // Rename opens in place (a <details>: no script).
        await page
          .locator('tr[data-passkey-id]', { hasText: 'Laptop' })
          .locator('summary', { hasText: 'Rename' })
          .click();
        await take('passkeys-rename');

        // After the re-auth window: the way to /reauth, which offers the passkey.
        clock.advance(LATER);
        await page.goto(`${server.url}/account/passkeys`);
        await take('passkeys-reauth-needed');
        await submit(page, () => page.locator('a', { hasText: 'Confirm it’s you' }).click());
        await visible('[data-passkey="reauth"]');
        await take('reauth-passkey');
        await submit(page, () => page.locator('[data-passkey="reauth"] button').click());
        expect(path(page)).toBe('/account/passkeys');

        // Two-step sign-in without an authenticator app: the passkeys stand in; its recovery codes.
        await page.goto(`${server.url}/account/second-factor`);
        await take('second-factor-passkeys');

        // The second step after a password, for a user with passkeys only.
        await signOut();
        await signIn(page, server.url, 'sam', PASSWORD, { navigate: false });
        expect(path(page)).toBe('/login/second-factor');
        await visible('[data-passkey="second-factor"]');
        await take('login-second-factor-passkey');
        await submit(page, () => page.locator('[data-passkey="second-factor"] button').click());
        expect(path(page)).toBe('/account');

        expect(problems).toEqual([]);
        await context.close();
        const reset = await resetSecondFactor(server.deps.account, samId, samId);
        expect(reset.ok).toBe(true);
      });
    }
  }
});
