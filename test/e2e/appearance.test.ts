import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
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

  beforeAll(async () => {
    browser = await launchBrowser();
    // Each variant shows a failed sign-in; a clock that never moves never forgets a failure.
    server = await startE2EServer({ CLOAKROOM_THROTTLE_ACCOUNT: '100/15m' }, { clock: manualClock(NOW) });
    fresh = await startE2EServer({}, { clock: manualClock(NOW) });
    await createUser(server, 'root', { roles: ['admin'], displayName: 'Root Admin' });
    await createUser(server, 'nina', { roles: ['ops', 'support'], displayName: 'Nina Newcomer' });
    await createUser(server, 'max', { displayName: 'Maximiliane Featherstonehaugh-Cholmondeley' });
    const quinn = await createUser(server, 'quinn', { displayName: 'Quinn Quiet' });
    await server.deps.users.update(quinn.id, { locked: true }, NOW);
    await createUser(server, 'rita', { displayName: 'Rita Reader' });
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

  for (const scheme of SCHEMES) {
    for (const device of DEVICES) {
      it(`every page, ${scheme}, ${device.name}: nothing scrolls sideways; screenshots`, async () => {
        const options = { ...device.options, colorScheme: scheme };
        const context = await newContext(browser, options);
        const page = await context.newPage();
        const take = async (name: string) => {
          expect(await horizontalOverflow(page), name).toBe(0);
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
        await page.goto(`${server.url}/no-such-page`);
        await take('not-found');

        const rita = await newContext(browser, options);
        const ritaPage = await rita.newPage();
        await signIn(ritaPage, server.url, 'rita', PASSWORD);
        await ritaPage.goto(`${server.url}/admin`);
        expect(await horizontalOverflow(ritaPage)).toBe(0);
        await shot(ritaPage, `forbidden-${device.name}-${scheme}`, { docs: UPDATE_DOCS });
        // Signed out again, so the next variant's account page lists the same two devices.
        await signOut(ritaPage);
        await rita.close();
        await page.goto(`${server.url}/account`);
        await signOut(page);
        await context.close();
      });
    }
  }
});
