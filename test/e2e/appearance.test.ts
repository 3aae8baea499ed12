import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resetSecondFactor } from '../../packages/cloakroom/src/auth/index.js';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import {
  cardOverflow,
  createUser,
  E2E_TIMEOUT_MS,
  type E2EServer,
  enrolSecondFactor,
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
} from './support.js';

vi.setConfig({ testTimeout: E2E_TIMEOUT_MS * 2, hookTimeout: E2E_TIMEOUT_MS });

// How the pages look to a person: the light theme, the dark one the system asks for
// (prefers-color-scheme), on a desktop and on a phone. Every page is screenshotted in each; with
// UPDATE_DOCS_IMAGES=1 the screenshots are also written to docs/images/ for docs/pages.md.

const UPDATE_DOCS = process.env.UPDATE_DOCS_IMAGES === '1';
/** A fixed "now": the dates on the pages, and so the screenshots, are the same every run. */
const NOW = Date.UTC(2026, 10, 24, 9, 14);

const SCHEMES = ['light', 'dark'] as const;
const DEVICES: Array<{ name: string; options: BrowserContextOptions }> = [
  { name: 'desktop', options: { viewport: { width: 1280, height: 800 } } },
  {
    name: 'phone',
    options: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 },
  },
];

type Rgb = [number, number, number];

/** `rgb(…)`/`rgba(…)` of getComputedStyle as numbers (alpha ignored: every colour here is opaque). */
function rgb(css: string): Rgb {
  const parts = /rgba?\(([^)]+)\)/
    .exec(css)?.[1]
    ?.split(',')
    .map((p) => Number.parseFloat(p));
  if (!parts || parts.length < 3) throw new Error(`not an rgb() colour: ${css}`);
  return [parts[0]!, parts[1]!, parts[2]!];
}

/** WCAG 2 contrast ratio of two colours. */
function contrast(a: Rgb, b: Rgb): number {
  const luminance = ([r, g, b]: Rgb) => {
    const [R, G, B] = [r, g, b].map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * R! + 0.7152 * G! + 0.0722 * B!;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** A computed style property of the first element `selector` matches. */
function style(page: Page, selector: string, property: string): Promise<string> {
  return page
    .locator(selector)
    .first()
    .evaluate(
      (el, prop) =>
        (
          globalThis as unknown as {
            getComputedStyle(e: unknown): { getPropertyValue(p: string): string };
          }
        )
          .getComputedStyle(el)
          .getPropertyValue(prop),
      property,
    );
}

/** The header's "Sign out" (the session is deleted, not just forgotten by the browser). */
async function signOut(page: Page): Promise<void> {
  await submit(page, () => page.locator('header form[action="/logout"] button').click());
  expect(new URL(page.url()).pathname).toBe('/login');
}

describe('light and dark theme, desktop and phone (real browser)', () => {
  let browser: Browser;
  let server: E2EServer;
  let fresh: E2EServer;
  /** Two-step sign-in set up, used and removed again in every variant, on a clock of its own. */
  let twoStep: E2EServer;
  let twoStepClock: ManualClock;
  let tessId: string;

  beforeAll(async () => {
    browser = await launchBrowser();
    // Each variant shows a failed sign-in; a clock that never moves never forgets a failure.
    server = await startE2EServer({ CLOAKROOM_THROTTLE_ACCOUNT: '100/15m' }, { clock: manualClock(NOW) });
    fresh = await startE2EServer({}, { clock: manualClock(NOW) });
    twoStepClock = manualClock(NOW);
    twoStep = await startE2EServer({}, { clock: twoStepClock });
    tessId = (await createUser(twoStep, 'tess', { displayName: 'Tess Tester' })).id;
    await createUser(server, 'root', { roles: ['admin'], displayName: 'Root Admin' });
    await createUser(server, 'nina', { roles: ['ops', 'support'], displayName: 'Nina Newcomer' });
    await createUser(server, 'max', { displayName: 'Maximiliane Featherstonehaugh-Cholmondeley' });
    const quinn = await createUser(server, 'quinn', { displayName: 'Quinn Quiet' });
    await server.deps.users.update(quinn.id, { locked: true }, NOW);
    await createUser(server, 'rita', { displayName: 'Rita Reader' });
    // The admin page shows one user with two-step sign-in (and so a Reset 2FA button).
    await enrolSecondFactor(server, 'nina');
    // root is also signed in on another device, so the account page lists two.
    const other = await newContext(browser, {
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
    });
    await signIn(await other.newPage(), server.url, 'root');
    await other.close();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await fresh?.close();
    await twoStep?.close();
  });

  it('without a preference the pages are light; with prefers-color-scheme: dark they are dark, and readable', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, server.url, 'nina', 'not the password');
    const light = rgb(await style(page, 'body', 'background-color'));
    expect(light).toEqual([244, 245, 247]);
    // A field's edge sets it apart from the card (WCAG 1.4.11: 3:1 for a control's boundary).
    const edge = () => style(page, 'input[name="username"]', 'border-top-color');
    expect(
      contrast(rgb(await edge()), rgb(await style(page, '.card', 'background-color'))),
    ).toBeGreaterThanOrEqual(3);

    await page.emulateMedia({ colorScheme: 'dark' });
    const bg = rgb(await style(page, 'body', 'background-color'));
    const card = rgb(await style(page, '.card', 'background-color'));
    const text = rgb(await style(page, 'body', 'color'));
    expect(Math.max(...bg)).toBeLessThan(40);
    expect(Math.max(...card)).toBeLessThan(50);
    expect(contrast(text, card)).toBeGreaterThanOrEqual(7);
    // Inputs, the error message, hints, links and buttons: WCAG AA (4.5:1) or better.
    const field = rgb(await style(page, 'input[name="username"]', 'background-color'));
    expect(Math.max(...field)).toBeLessThan(50);
    expect(contrast(rgb(await style(page, 'input[name="username"]', 'color')), field)).toBeGreaterThanOrEqual(
      7,
    );
    expect(contrast(rgb(await edge()), card)).toBeGreaterThanOrEqual(3);
    const flash = page.locator('.flash.error');
    expect(await flash.count()).toBe(1);
    expect(
      contrast(
        rgb(await style(page, '.flash.error', 'color')),
        rgb(await style(page, '.flash.error', 'background-color')),
      ),
    ).toBeGreaterThanOrEqual(4.5);
    expect(contrast(rgb(await style(page, 'p.hint', 'color')), bg)).toBeGreaterThanOrEqual(4.5);
    const button = 'form[action="/login"] button[type="submit"]';
    expect(
      contrast(rgb(await style(page, button, 'color')), rgb(await style(page, button, 'background-color'))),
    ).toBeGreaterThanOrEqual(4.5);
    // The focused password field (focus moved there after the failure) shows a visible ring.
    expect(await style(page, 'input[name="password"]', 'outline-style')).toBe('solid');
    expect(
      contrast(rgb(await style(page, 'input[name="password"]', 'border-top-color')), card),
    ).toBeGreaterThanOrEqual(4.5);
    // Native parts (checkbox, scrollbars) follow: the page declares itself dark.
    expect(await style(page, ':root', 'color-scheme')).toBe('dark');
    await context.close();
  });

  /**
   * tess sets up two-step sign-in (the page before, the QR code and key, the recovery codes,
   * the page after), confirms it's her (/reauth with a code field), signs out and in again
   * (the second step); then her factor is removed again for the next variant. The clock is
   * back at NOW each time, so every variant shows the same dates.
   */
  async function twoStepPages(options: BrowserContextOptions, deviceName: string, scheme: string) {
    twoStepClock.set(NOW);
    const context = await newContext(browser, options);
    const page = await context.newPage();
    const take = async (name: string) => {
      expect(await horizontalOverflow(page), name).toBe(0);
      expect(await cardOverflow(page), name).toBe(0);
      await shot(page, `${name}-${deviceName}-${scheme}`, { docs: UPDATE_DOCS });
    };
    await signIn(page, twoStep.url, 'tess');
    await page.goto(`${twoStep.url}/account/second-factor`);
    await take('second-factor-off');
    await submit(page, () => page.locator('form[action="/account/second-factor/totp"] button').click());
    await take('enrol');
    const key = (await textOf(page.locator('#totp-key'))).trim();
    await page.locator('#code').fill(totpCode(key, twoStepClock.now()));
    await submit(page, () => page.locator('form[action$="/totp/confirm"] button').click());
    await take('recovery-codes');
    await submit(page, () => page.locator('a', { hasText: 'Done, I saved them' }).click());
    await take('second-factor');
    await page.goto(`${twoStep.url}/account`);
    await take('account-two-step');
    await page.goto(`${twoStep.url}/reauth?next=%2Faccount%2Fsecond-factor`);
    await take('reauth');
    await signOut(page);
    await signIn(page, twoStep.url, 'tess', PASSWORD, { navigate: false });
    expect(new URL(page.url()).pathname).toBe('/login/second-factor');
    await take('login-second-factor');
    twoStepClock.advance(30_000);
    await page.locator('#code').fill(totpCode(key, twoStepClock.now()));
    await submit(page, () =>
      page.locator('form[action="/login/second-factor"] button[type="submit"]').first().click(),
    );
    expect(new URL(page.url()).pathname).toBe('/account');
    await context.close();
    const reset = await resetSecondFactor(twoStep.deps.account, tessId, tessId);
    expect(reset.ok).toBe(true);
  }

  for (const scheme of SCHEMES) {
    for (const device of DEVICES) {
      it(`every page, ${scheme}, ${device.name}: nothing scrolls sideways; screenshots`, async () => {
        const options = { ...device.options, colorScheme: scheme };
        const context = await newContext(browser, options);
        const page = await context.newPage();
        const take = async (name: string) => {
          expect(await horizontalOverflow(page), name).toBe(0);
          expect(await cardOverflow(page), name).toBe(0);
          await shot(page, `${name}-${device.name}-${scheme}`, { docs: UPDATE_DOCS });
        };

        await page.goto(`${server.url}/login`);
        await take('login');
        await signIn(page, server.url, 'nina', 'not the password', { navigate: false });
        await take('login-error');

        await page.goto(fresh.setupUrl!);
        await page.locator('input[name="username"]').fill('root');
        await page.locator('input[name="displayName"]').fill('Root Admin');
        await take('setup');

        await signIn(page, server.url, 'root');
        await take('account');
        await page.goto(`${server.url}/admin`);
        await take('admin');
        // A recovery link for rita, shown once; then the page it opens (no session needed).
        const rita = page.locator('tr[data-user="rita"]');
        await rita.locator('summary', { hasText: 'Recovery link' }).click();
        await take('admin-recovery-menu');
        await submit(page, () => rita.locator('button', { hasText: 'Create link' }).click());
        const link = await page.locator('#recovery-url').inputValue();
        await take('recovery-link');
        await page.goto(`${server.url}/no-such-page`);
        await take('not-found');

        const recovering = await newContext(browser, options);
        const recoverPage = await recovering.newPage();
        await recoverPage.goto(link);
        expect(await horizontalOverflow(recoverPage)).toBe(0);
        await shot(recoverPage, `recover-${device.name}-${scheme}`, { docs: UPDATE_DOCS });
        await recovering.close();

        const rita2 = await newContext(browser, options);
        const ritaPage = await rita2.newPage();
        await signIn(ritaPage, server.url, 'rita', PASSWORD);
        await ritaPage.goto(`${server.url}/admin`);
        expect(await horizontalOverflow(ritaPage)).toBe(0);
        await shot(ritaPage, `forbidden-${device.name}-${scheme}`, { docs: UPDATE_DOCS });
        // Signed out again, so the next variant's account page lists the same two devices.
        await signOut(ritaPage);
        await rita2.close();
        await page.goto(`${server.url}/account`);
        await signOut(page);
        await context.close();
        await twoStepPages(options, device.name, scheme);
      });
    }
  }
});
