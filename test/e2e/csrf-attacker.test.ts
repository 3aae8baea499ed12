import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { User } from '../../packages/cloakroom/src/auth/users.js';
import {
  createUser,
  E2E_TIMEOUT_MS,
  type E2EServer,
  launchBrowser,
  newContext,
  PASSWORD,
  signIn,
  startE2EServer,
  textOf,
  whoAmI,
} from './support.js';

vi.setConfig({ testTimeout: E2E_TIMEOUT_MS, hookTimeout: E2E_TIMEOUT_MS });

const EVE_PASSWORD = 'this account is mine';
const VICTIM_NAME = 'Victoria Victim';

/**
 * The attacker's site: plain node:http on 127.0.0.1, ANOTHER PORT of the same host as the
 * login server. Same-site (cookies with SameSite=Lax are sent along) but cross-origin. No
 * CSP: its pages run inline script.
 */
interface Attacker {
  origin: string;
  /** Serves `html` at a fresh path and returns its URL. */
  page(html: string): string;
  close(): Promise<void>;
}

async function startAttacker(): Promise<Attacker> {
  const pages = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const html = pages.get(req.url ?? '');
    if (req.url === '/favicon.ico' || html === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let n = 0;
  return {
    origin,
    page(html) {
      const path = `/attack/${++n}`;
      pages.set(path, html);
      return `${origin}${path}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An auto-submitting form, the classic CSRF page. */
function formPage(action: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  return `<!doctype html><html><head><title>You won a prize</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="${escapeHtml(action)}">${inputs}<button>Claim</button></form>
</body></html>`;
}

/**
 * Opens the attack page in the victim's browser and waits for the forged POST's answer and
 * for the navigation it causes to settle on the login server's origin.
 */
async function attack(
  page: Page,
  server: E2EServer,
  attacker: Attacker,
  path: string,
  fields: Record<string, string>,
): Promise<Response> {
  const target = `${server.url}${path}`;
  const answered = page.waitForResponse((r) => r.url() === target && r.request().method() === 'POST');
  await page.goto(attacker.page(formPage(target, fields)));
  const response = await answered;
  await page.waitForURL((u) => u.origin === server.origin, { waitUntil: 'load' });
  // The browser DID send the victim's session cookie (SameSite=Lax does not stop a
  // same-site request): whatever stopped the attack was the server.
  const sent = await response.request().allHeaders();
  expect(sent.cookie ?? '').toMatch(/(^|;\s*)cloakroom=/);
  expect(sent.origin).toBe(attacker.origin);
  return response;
}

/** One browser for the whole file; every scenario gets its own contexts. */
let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('CSRF from a same-site, cross-origin attacker page (another port of 127.0.0.1)', () => {
  let server: E2EServer;
  let attacker: Attacker;
  let victim: User;
  let bob: User;
  let eve: User;
  /** The victim's browser: signed in as an admin; every attack page opens here. */
  let context: BrowserContext;
  let page: Page;
  /** The victim's other device. */
  let laptop: BrowserContext;
  let laptopSession: string;
  /** What the attacker got by loading /login on their own machine: a real form token (for their nonce). */
  let attackerLoginToken: string;

  beforeAll(async () => {
    server = await startE2EServer();
    attacker = await startAttacker();
    victim = await createUser(server, 'victoria', { roles: ['admin'], displayName: VICTIM_NAME });
    bob = await createUser(server, 'bob', { displayName: 'Bob' });
    eve = await createUser(server, 'eve', { password: EVE_PASSWORD, displayName: 'Eve Attacker' });
    expect(new URL(attacker.origin).port).not.toBe(new URL(server.url).port);

    laptop = await newContext(browser);
    const laptopPage = await laptop.newPage();
    await signIn(laptopPage, server.url, 'victoria');
    laptopSession = (await laptopPage.locator('tr[data-current="true"]').getAttribute('data-session'))!;
    await laptopPage.close();

    context = await newContext(browser);
    page = await context.newPage();
    await signIn(page, server.url, 'victoria');
    expect(new URL(page.url()).pathname).toBe('/account');

    const loginPage = await fetch(`${server.url}/login`);
    const html = await loginPage.text();
    attackerLoginToken = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(attackerLoginToken).not.toBe('');
  });
  afterAll(async () => {
    await attacker?.close();
    await server?.close();
  });

  const forge = (path: string, fields: Record<string, string>) =>
    attack(page, server, attacker, path, fields);

  /** The victim is still signed in as the victim. */
  async function stillVictim() {
    expect(await whoAmI(context, server.url)).toEqual({ status: 200, username: 'victoria' });
  }

  const refusals = (route: string) =>
    server.logs.filter((l) => l.event === 'csrf.refused' && l.route === route).map((l) => l.reason);

  it('a forged POST /logout is refused with 403 and the victim stays signed in', async () => {
    const response = await forge('/logout', {});
    expect(response.status()).toBe(403);
    expect(await textOf(page.locator('h1'))).toBe('Request refused');
    expect(refusals('/logout')).toContain('same-site');
    await stillVictim();
  });

  it('a forged POST /account/password (even with the right current password) is refused with 403', async () => {
    const response = await forge('/account/password', {
      currentPassword: PASSWORD,
      newPassword: 'attacker chosen password',
      confirmPassword: 'attacker chosen password',
    });
    expect(response.status()).toBe(403);
    await stillVictim();
  });

  it('a forged POST /account/sessions/revoke-others is refused with 403', async () => {
    expect((await forge('/account/sessions/revoke-others', {})).status()).toBe(403);
    await stillVictim();
  });

  it("a forged POST /account/sessions/<id>/revoke of the victim's other device is refused with 403", async () => {
    expect((await forge(`/account/sessions/${laptopSession}/revoke`, {})).status()).toBe(403);
  });

  it('a forged POST /admin/users (create "mallory" with role admin) is refused with 403', async () => {
    const response = await forge('/admin/users', {
      username: 'mallory',
      displayName: 'Mallory',
      password: 'mallory passphrase',
      roles: 'admin',
    });
    expect(response.status()).toBe(403);
    expect(refusals('/admin/users')).toContain('same-site');
  });

  it('a forged POST /admin/users/<id>/roles (make eve an admin) is refused with 403', async () => {
    expect((await forge(`/admin/users/${eve.id}/roles`, { roles: 'admin' })).status()).toBe(403);
  });

  it('forged POST /admin/users/<id>/lock of the victim and of another user are refused with 403', async () => {
    expect((await forge(`/admin/users/${victim.id}/lock`, {})).status()).toBe(403);
    expect((await forge(`/admin/users/${bob.id}/lock`, {})).status()).toBe(403);
    expect((await forge(`/admin/users/${bob.id}/revoke-sessions`, {})).status()).toBe(403);
    await stillVictim();
  });

  it('a forged POST /account/profile is refused with 403', async () => {
    expect((await forge('/account/profile', { displayName: 'Pwned by Eve' })).status()).toBe(403);
  });

  it("login CSRF through the HTML form (POST /login with the attacker's own credentials and token) is refused with 403", async () => {
    const response = await forge('/login', {
      username: 'eve',
      password: EVE_PASSWORD,
      _csrf: attackerLoginToken,
      next: '/account',
    });
    expect(response.status()).toBe(403);
    expect(refusals('login-page')).toContain('same-site');
    await stillVictim();
  });

  it("login CSRF through the API (form-encoded POST /api/login with the attacker's credentials) is refused with 403", async () => {
    const response = await forge('/api/login', {
      username: 'eve',
      password: EVE_PASSWORD,
      _csrf: attackerLoginToken,
    });
    expect(response.status()).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe('csrf');
    expect(refusals('login')).toContain('same-site');
    await stillVictim();
  });

  it('a no-cors text/plain fetch to POST /api/logout is refused with 403', async () => {
    const target = `${server.url}/api/logout`;
    const answered = page.waitForResponse((r) => r.url() === target && r.request().method() === 'POST');
    const html = `<!doctype html><html><head><title>loading</title></head><body><script>
fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', credentials: 'include',
  headers: { 'Content-Type': 'text/plain' }, body: '{}' })
  .then(() => { document.title = 'sent'; }, () => { document.title = 'failed'; });
</script></body></html>`;
    await page.goto(attacker.page(html));
    const response = await answered;
    await page.waitForFunction("document.title !== 'loading'");
    expect(await page.title()).toBe('sent');
    expect(response.status()).toBe(403);
    expect(refusals('/api/logout')).toContain('same-site');
    await stillVictim();
  });

  it('after every attack: the victim is still themselves, and nothing the attacker asked for happened', async () => {
    // Signed in as the victim, in the victim's own browser.
    const account = await page.goto(`${server.url}/account`);
    expect(account?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/account');
    expect(await textOf(page.locator('h1'))).toBe(`Hello, ${VICTIM_NAME}`);
    await stillVictim();

    // Not signed in as the attacker, and the attacker never got a session.
    expect(await textOf(page.locator('dl.facts dd').first())).toBe('victoria');
    expect(await server.deps.sessions.list(eve.id)).toHaveLength(0);
    expect(server.logs.filter((l) => l.event === 'login.success' && l.userId === eve.id)).toHaveLength(0);

    // No new admin, no role change, nobody locked, no name change.
    expect(await server.deps.users.getByUsername('mallory')).toBeNull();
    expect(await server.deps.users.count()).toBe(3);
    expect((await server.deps.users.getById(eve.id))?.roles).toEqual([]);
    const v = await server.deps.users.getById(victim.id);
    expect(v?.locked).toBe(false);
    expect(v?.roles).toEqual(['admin']);
    expect(v?.displayName).toBe(VICTIM_NAME);
    expect((await server.deps.users.getById(bob.id))?.locked).toBe(false);

    // The victim's other device is still signed in; both sessions are alive.
    expect(await whoAmI(laptop, server.url)).toEqual({ status: 200, username: 'victoria' });
    expect(await server.deps.sessions.list(victim.id)).toHaveLength(2);

    // The password is unchanged: the old one still signs in elsewhere, the attacker's does not.
    expect((await server.deps.passwords.verify(v!.passwordHash, PASSWORD)).ok).toBe(true);
    const elsewhere = await newContext(browser);
    const p = await elsewhere.newPage();
    expect((await signIn(p, server.url, 'victoria', 'attacker chosen password'))?.status()).toBe(401);
    await signIn(p, server.url, 'victoria', PASSWORD);
    expect(new URL(p.url()).pathname).toBe('/account');
    await elsewhere.close();

    // Every forged request was logged as a CSRF refusal (never a token or password in the log).
    const refused = server.logs.filter((l) => l.event === 'csrf.refused');
    expect(refused.length).toBeGreaterThanOrEqual(13);
    const text = JSON.stringify(server.logs);
    expect(text).not.toContain(EVE_PASSWORD);
    expect(text).not.toContain(PASSWORD);
  });
});

describe('with the attacker origin listed in CLOAKROOM_TRUSTED_ORIGINS, the CSRF token still stops forged forms', () => {
  let server: E2EServer;
  let attacker: Attacker;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    attacker = await startAttacker();
    // A misconfiguration (or a sibling app that got compromised): the origin gate lets it through.
    server = await startE2EServer({ CLOAKROOM_TRUSTED_ORIGINS: attacker.origin });
    await createUser(server, 'victoria', { roles: ['admin'], displayName: VICTIM_NAME });
    await createUser(server, 'eve', { password: EVE_PASSWORD });
    context = await newContext(browser);
    page = await context.newPage();
    await signIn(page, server.url, 'victoria');
    expect(new URL(page.url()).pathname).toBe('/account');
  });
  afterAll(async () => {
    await attacker?.close();
    await server?.close();
  });

  const forge = (path: string, fields: Record<string, string>) =>
    attack(page, server, attacker, path, fields);

  it('forged session forms without a valid _csrf are refused with 403 (missing or bad token)', async () => {
    expect((await forge('/logout', {})).status()).toBe(403);
    expect((await forge('/account/profile', { displayName: 'Pwned', _csrf: 'guessed' })).status()).toBe(403);
    expect(
      (
        await forge('/admin/users', { username: 'mallory', password: 'mallory passphrase', roles: 'admin' })
      ).status(),
    ).toBe(403);
    const reasons = server.logs.filter((l) => l.event === 'csrf.refused').map((l) => l.reason);
    expect(reasons).toEqual(['missing-token', 'bad-token', 'missing-token']);
    expect(await server.deps.users.getByUsername('mallory')).toBeNull();
    expect(await whoAmI(context, server.url)).toEqual({ status: 200, username: 'victoria' });
  });

  it("login CSRF with the attacker's own form token does not match the victim's nonce and is refused", async () => {
    const html = await (await fetch(`${server.url}/login`)).text();
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(token).not.toBe('');
    const viaForm = await forge('/login', { username: 'eve', password: EVE_PASSWORD, _csrf: token });
    expect(viaForm.status()).toBe(403);
    const viaApi = await forge('/api/login', { username: 'eve', password: EVE_PASSWORD, _csrf: token });
    expect(viaApi.status()).toBe(403);
    expect(await whoAmI(context, server.url)).toEqual({ status: 200, username: 'victoria' });
  });

  it('control: the same attack page WITH a leaked valid token does change the name (the harness can see a hole)', async () => {
    await page.goto(`${server.url}/account`);
    const leaked = await page.locator('form[action="/account/profile"] input[name="_csrf"]').inputValue();
    const response = await forge('/account/profile', {
      displayName: 'Changed by trusted origin',
      _csrf: leaked,
    });
    expect(response.status()).toBe(303);
    expect(new URL(page.url()).pathname).toBe('/account');
    expect(await textOf(page.locator('h1'))).toBe('Hello, Changed by trusted origin');
  });
});
