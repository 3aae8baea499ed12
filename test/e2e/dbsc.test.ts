import type { Browser, BrowserContext, Cookie, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { REGISTRATION_GRACE_MS } from '../../packages/cloakroom/src/core/dbsc.js';
import {
  createUser,
  E2E_TIMEOUT_MS,
  type E2EServer,
  type LogLine,
  launchBrowser,
  newContext,
  signIn,
  startE2EServer,
  textOf,
} from './support.js';
import { type SelfSignedCert, selfSignedCert, startTlsProxy, type TlsProxy } from './tls-proxy.js';

vi.setConfig({ testTimeout: E2E_TIMEOUT_MS, hookTimeout: E2E_TIMEOUT_MS });

// Device Bound Session Credentials (CLOAKROOM_DBSC=on) in Debian's Chromium with software keys.
// Chromium registers a session only over HTTPS with a certificate it trusts: the server listens
// on plain HTTP behind a TLS-terminating proxy (tls-proxy.ts, CLOAKROOM_TRUST_PROXY=true) with a
// self-signed certificate for localhost that the DBSC browser trusts by its public key hash
// (--ignore-certificate-errors-spki-list; --ignore-certificate-errors and plain http://localhost
// never register). The second browser has no DBSC at all: the thief's, or an ordinary browser.

/** Chromium's device-bound sessions, with keys held in software (no TPM in a test machine). */
const DBSC_FEATURES =
  '--enable-features=DeviceBoundSessions,EnableBoundSessionCredentialsSoftwareKeysForManualTesting';
const SESSION_COOKIE = '__Host-cloakroom';
const BOUND_COOKIE = '__Host-cloakroom-bound';
/** How long a DBSC browser gets to register or refresh (it takes well under a second). */
const DBSC_WAIT_MS = 10_000;

describe('device-bound sessions in a real browser (HTTPS via a TLS proxy)', () => {
  let cert: SelfSignedCert;
  let server: E2EServer;
  let proxy: TlsProxy;
  /** Chromium with DBSC on, trusting the proxy's certificate. */
  let dbscBrowser: Browser;
  /** Chromium as launched for every other e2e test (no DBSC), trusting the same certificate. */
  let plainBrowser: Browser;

  /**
   * The server's clock: real time to start with, stepped past the 10 s after a registration in
   * which a request without any bound cookie still passes (the browser's in-flight requests).
   */
  const clock = manualClock(Date.now());

  beforeAll(async () => {
    cert = selfSignedCert();
    server = await startE2EServer({ CLOAKROOM_DBSC: 'on', CLOAKROOM_TRUST_PROXY: 'true' }, { clock });
    proxy = await startTlsProxy(server.url, cert);
    const trustCert = `--ignore-certificate-errors-spki-list=${cert.spki}`;
    [dbscBrowser, plainBrowser] = await Promise.all([
      launchBrowser({ args: [DBSC_FEATURES, trustCert] }),
      launchBrowser({ args: [trustCert] }),
    ]);
  });
  afterAll(async () => {
    await dbscBrowser?.close();
    await plainBrowser?.close();
    await proxy?.close();
    await server?.close();
  });

  /** The audit lines `event` so far, for `userId` (and `session` when given). */
  const events = (event: string, userId: string, session?: string): LogLine[] =>
    server.logs.filter(
      (l) => l.event === event && l.userId === userId && (session === undefined || l.session === session),
    );

  /**
   * Waits (polling, with a deadline) until `count()` reaches `atLeast`; on timeout, fails with
   * what the server logged about DBSC and which DBSC requests the proxy passed on.
   */
  async function waitFor(what: string, count: () => number, atLeast = 1): Promise<void> {
    const deadline = Date.now() + DBSC_WAIT_MS;
    while (count() < atLeast) {
      if (Date.now() > deadline) {
        const dbscLog = server.logs.filter((l) => String(l.event).startsWith('dbsc.'));
        const dbscRequests = proxy.requests.filter((r) => r.path.startsWith('/auth/dbsc/'));
        throw new Error(
          `no ${what} within ${DBSC_WAIT_MS} ms\nserver dbsc log: ${JSON.stringify(dbscLog)}\n` +
            `dbsc requests: ${JSON.stringify(dbscRequests)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The names of the cookies `context` holds for the server (never their values). */
  const cookieNames = async (context: BrowserContext): Promise<string[]> =>
    (await context.cookies(proxy.url)).map((c) => c.name).sort();

  const cookie = async (context: BrowserContext, name: string): Promise<Cookie> => {
    const found = (await context.cookies(proxy.url)).find((c) => c.name === name);
    if (!found) throw new Error(`no ${name} cookie (has: ${(await cookieNames(context)).join(', ')})`);
    return found;
  };

  /** The /account row of the session this page uses, after loading /account afresh. */
  async function thisDevice(page: Page) {
    await page.goto(`${proxy.url}/account`);
    expect(new URL(page.url()).pathname).toBe('/account');
    const row = page.locator('tbody tr[data-current="true"]');
    expect(await row.count()).toBe(1);
    return {
      session: await row.getAttribute('data-session'),
      device: await textOf(row.locator('td[data-label="Device"]')),
    };
  }

  /** A fresh context of `browser` signed in as `username` through the real /login page, on /account. */
  async function signedIn(browser: Browser, username: string) {
    const user = await createUser(server, username);
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, proxy.url, username);
    // Seen with Chromium 156: it registers while following the sign-in redirect, so its first
    // GET /account often leaves before the registration answer (no bound cookie yet) and reaches
    // the server after the binding was stored: that one is sent to /login, which sends the
    // browser (bound cookie set by then) back to /account. The person still ends up here.
    expect(new URL(page.url()).pathname).toBe('/account');
    // The sign-in answer offered registration, to every browser.
    const login = proxy.requests.filter((r) => r.method === 'POST' && r.path === '/login').at(-1);
    expect(login?.offeredRegistration).toBe(true);
    return { user, context, page };
  }

  /** {@link signedIn} with the DBSC browser, once the server logged its registration. */
  async function boundDevice(username: string) {
    const device = await signedIn(dbscBrowser, username);
    await waitFor(`dbsc.registered for ${username}`, () => events('dbsc.registered', device.user.id).length);
    const [registered] = events('dbsc.registered', device.user.id);
    return { ...device, session: String(registered!.session) };
  }

  it('a DBSC browser signing in on /login registers a device key: bound cookie, "device-bound" on /account', async () => {
    const { user, context, page, session } = await boundDevice('ada');
    expect(events('dbsc.registered', user.id)).toHaveLength(1);
    expect(events('dbsc.refused', user.id)).toEqual([]);
    expect(['ES256', 'RS256']).toContain(events('dbsc.registered', user.id)[0]!.alg);
    // Chromium posted its proof to the registration path the offer named.
    expect(proxy.requests.some((r) => r.path === '/auth/dbsc/register' && r.status === 200)).toBe(true);
    // The first page after sign-in is served, not bounced through /login: Chromium's request for
    // it can leave before the registration is answered (the 10 s allowance after registration).
    const signedIn = proxy.requests.findLastIndex((r) => r.method === 'POST' && r.path === '/login');
    expect(proxy.requests.slice(signedIn + 1).filter((r) => r.path === '/login')).toEqual([]);

    expect(await cookieNames(context)).toEqual(expect.arrayContaining([SESSION_COOKIE, BOUND_COOKIE]));
    const bound = await cookie(context, BOUND_COOKIE);
    expect(bound).toMatchObject({ secure: true, httpOnly: true, path: '/' });
    // Short-lived: ten minutes, not the session's lifetime.
    expect(bound.expires * 1000).toBeGreaterThan(Date.now());
    expect(bound.expires * 1000).toBeLessThanOrEqual(Date.now() + 10 * 60_000 + 5_000);

    const here = await thisDevice(page);
    expect(here.session).toBe(session);
    expect(here.device).toContain('this device');
    expect(here.device).toContain('device-bound');
    await context.close();
  });

  it('without its bound cookie the browser refreshes it with its key before the request: still signed in', async () => {
    const { user, context, page, session } = await boundDevice('grace');
    // Chromium may already have refreshed on its own (it refreshes early): count from here.
    const refreshedBefore = events('dbsc.refreshed', user.id, session).length;
    const mark = proxy.requests.length;
    await context.clearCookies({ name: BOUND_COOKIE });
    expect(await cookieNames(context)).not.toContain(BOUND_COOKIE);
    expect(await cookieNames(context)).toContain(SESSION_COOKIE);

    const here = await thisDevice(page);
    expect(here.session).toBe(session);
    expect(here.device).toContain('device-bound');
    await waitFor(
      'dbsc.refreshed after the bound cookie was removed',
      () => events('dbsc.refreshed', user.id, session).length,
      refreshedBefore + 1,
    );
    expect(events('dbsc.refused', user.id)).toEqual([]);
    expect(await cookieNames(context)).toContain(BOUND_COOKIE);
    // What reached the server since: a refresh the server accepted, then /account carrying the
    // new bound cookie, served at once (not refused and rescued by a detour through /login).
    const since = proxy.requests.slice(mark);
    const account = since.findIndex((r) => r.method === 'GET' && r.path === '/account');
    expect(account).toBeGreaterThan(0);
    expect(since[account]).toMatchObject({ status: 200 });
    expect(since[account]!.cookieNames).toContain(BOUND_COOKIE);
    const refreshes = since.slice(0, account).filter((r) => r.path === '/auth/dbsc/refresh');
    expect(refreshes.map((r) => r.status)).toContain(200);
    await context.close();
  });

  it('a stolen session cookie alone gets nowhere in another browser; with the bound cookie too, only until it expires', async () => {
    const owner = await boundDevice('linus');
    const stolen = await cookie(owner.context, SESSION_COOKIE);
    // Past the moments after registration in which no bound cookie at all is still accepted.
    clock.advance(REGISTRATION_GRACE_MS);
    const boundCookie = await cookie(owner.context, BOUND_COOKIE);
    /** A thief's context (no DBSC) holding `cookies` for the server, exactly as the owner's. */
    const thief = async (cookies: Cookie[]) => {
      const context = await newContext(plainBrowser);
      // `url` (not `domain`) makes them host-only, as a __Host- cookie must be.
      await context.addCookies(
        cookies.map((c) => ({
          name: c.name,
          value: c.value,
          url: `${proxy.url}/`,
          secure: true,
          httpOnly: c.httpOnly,
          sameSite: c.sameSite,
          ...(c.expires > 0 ? { expires: c.expires } : {}),
        })),
      );
      expect(await cookieNames(context)).toEqual(cookies.map((c) => c.name).sort());
      const page = await context.newPage();
      await page.goto(`${proxy.url}/account`);
      return { context, page };
    };

    const sessionOnly = await thief([stolen]);
    expect(new URL(sessionOnly.page.url()).pathname).toBe('/login');
    expect(await sessionOnly.page.locator('form[action="/login"]').count()).toBe(1);
    await sessionOnly.context.close();

    // The owner is unaffected.
    expect((await thisDevice(owner.page)).session).toBe(owner.session);

    // The documented limit: both cookies together work until the bound cookie expires (ten minutes).
    const both = await thief([stolen, boundCookie]);
    expect(new URL(both.page.url()).pathname).toBe('/account');
    await both.context.close();
    await owner.context.close();
  });

  it('a browser without DBSC signs in and uses /account as ever: nothing registered, no "device-bound"', async () => {
    const mark = proxy.requests.length;
    const { user, context, page } = await signedIn(plainBrowser, 'margaret');
    // Give it the time a DBSC browser registers in (well under a second in the first test)
    // before concluding it did not.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const here = await thisDevice(page);
    expect(here.device).toContain('this device');
    expect(here.device).not.toContain('device-bound');
    expect(await cookieNames(context)).toContain(SESSION_COOKIE);
    expect(await cookieNames(context)).not.toContain(BOUND_COOKIE);
    const logged = server.logs.filter((l) => String(l.event).startsWith('dbsc.') && l.userId === user.id);
    expect(logged).toEqual([]);
    expect(proxy.requests.slice(mark).filter((r) => r.path.startsWith('/auth/dbsc/'))).toEqual([]);
    // Still signed in on a later visit.
    await page.reload();
    expect(new URL(page.url()).pathname).toBe('/account');
    await context.close();
  });
});
