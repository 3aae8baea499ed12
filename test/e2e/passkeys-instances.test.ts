import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RoundRobinProxy, startRoundRobinProxy } from '../support/round-robin-proxy.js';
import {
  freePort,
  type PostgresDatabase,
  REDIS_URL,
  requirePostgres,
  requireRedis,
} from '../support/services.js';
import {
  addVirtualAuthenticator,
  E2E_TIMEOUT_MS,
  flashText,
  launchBrowser,
  newContext,
  PASSWORD,
  type ServerInstance,
  signIn,
  spawnPasskeyServer,
  steerAutofill,
  submit,
  textOf,
  watchPolicyErrors,
  whoAmI,
} from './support.js';

vi.setConfig({ testTimeout: E2E_TIMEOUT_MS * 3, hookTimeout: E2E_TIMEOUT_MS });

// The whole passkey life in real Chromium against two `cloakroom serve` processes (built: `npm
// run build`) on one Redis (sessions, counters: the challenges) and one PostgreSQL (users: the
// passkeys), behind one origin: a round-robin proxy on loopback sends each request to the next
// instance, so every ceremony's options come from one process and its finish goes to the other,
// which shares nothing with it but the stores. The instances' own request logs show which served
// what.

/** The ceremonies' routes: options (begin) and finish, by ceremony. */
const CEREMONIES: Record<string, { begin: string; finish: string }> = {
  register: { begin: 'POST /api/account/passkeys/options', finish: 'POST /api/account/passkeys' },
  signin: { begin: 'POST /api/login/passkey/options', finish: 'POST /api/login/passkey' },
  'second-factor': {
    begin: 'POST /api/login/second-factor/passkey/options',
    finish: 'POST /api/login/second-factor/passkey',
  },
  reauth: { begin: 'POST /api/reauth/passkey/options', finish: 'POST /api/reauth/passkey' },
};

/** `POST /api/login/passkey 200` of each request line of an instance's text log (LOG_FORMAT=pretty). */
function apiLines(server: ServerInstance): string[] {
  return server.text.flatMap((line) => {
    const match = /^\S+ (GET|POST|PATCH|DELETE)\s+(\/api\/\S*) (\d{3})/.exec(line);
    return match ? [`${match[1]} ${match[2]} ${match[3]}`] : [];
  });
}

const path = (page: Page) => new URL(page.url()).pathname;

describe('passkeys on Redis + PostgreSQL, two instances behind one origin (real browser)', () => {
  const redis = requireRedis();
  let db: PostgresDatabase;
  let browser: Browser;
  let one: ServerInstance;
  let two: ServerInstance;
  let proxy: RoundRobinProxy;

  beforeAll(async () => {
    await redis;
    db = await requirePostgres();
    browser = await launchBrowser();
    const port = await freePort();
    const publicUrl = `http://localhost:${port}`;
    // ines is the first admin (made by instance one at start-up).
    const env = {
      REDIS_URL,
      DATABASE_URL: db.url,
      CLOAKROOM_ADMIN_USER: 'ines',
      CLOAKROOM_ADMIN_PASSWORD: PASSWORD,
    };
    one = await spawnPasskeyServer(publicUrl, env);
    two = await spawnPasskeyServer(publicUrl, env);
    proxy = await startRoundRobinProxy([one.direct, two.direct], port);
  });
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await one?.stop();
    await two?.stop();
    await db?.drop();
    (await redis).destroy();
  });

  it('add, sign in by button, second step, re-auth, remove, refused: every ceremony finishes on the other instance', async () => {
    const url = proxy.url;
    const context = await newContext(browser);
    const page = await context.newPage();
    const problems = watchPolicyErrors(page);
    await steerAutofill(page);
    await addVirtualAuthenticator(page);

    // Add a passkey (a fresh sign-in is recent); its recovery codes are shown once.
    await signIn(page, url, 'ines');
    expect(path(page)).toBe('/account');
    await page.goto(`${url}/account/passkeys`);
    await page.locator('#passkey-name').fill('Laptop');
    await page.locator('form[data-passkey="register"] button[type="submit"]').click();
    const codes = page.locator('section[data-passkey-codes]');
    await codes.waitFor({ state: 'visible' });
    expect(await codes.locator('ol.codes code').count()).toBe(10);
    await submit(page, () => codes.locator('a', { hasText: 'Done, I saved them' }).click());
    expect(await flashText(page)).toBe('Passkey “Laptop” added. It can sign you in from now on.');

    const signOut = async () => {
      await submit(page, () => page.locator('header form[action="/logout"] button').click());
      expect(path(page)).toBe('/login');
    };
    const button = page.locator('[data-passkey="signin"] button');

    // Passwordless.
    await signOut();
    await button.waitFor({ state: 'visible' });
    await submit(page, () => button.click());
    expect(path(page)).toBe('/account');
    expect(await whoAmI(context, url)).toEqual({ status: 200, username: 'ines' });

    // The second step after the password.
    await signOut();
    await signIn(page, url, 'ines', PASSWORD, { navigate: false });
    expect(path(page)).toBe('/login/second-factor');
    const second = page.locator('[data-passkey="second-factor"] button');
    await second.waitFor({ state: 'visible' });
    await submit(page, () => second.click());
    expect(path(page)).toBe('/account');

    // Confirming it's her.
    await page.goto(`${url}/reauth?next=${encodeURIComponent('/account/passkeys')}`);
    const confirm = page.locator('[data-passkey="reauth"] button');
    await confirm.waitFor({ state: 'visible' });
    await submit(page, () => confirm.click());
    expect(path(page)).toBe('/account/passkeys');

    // Remove it (a plain form), then it is refused.
    const row = page.locator('tr[data-passkey-id]', { hasText: 'Laptop' });
    await row.locator('summary', { hasText: 'Remove' }).click();
    await submit(page, () => row.locator('button', { hasText: 'Remove passkey' }).click());
    expect(await flashText(page)).toBe('Passkey removed. It no longer signs you in.');
    await signOut();
    await button.waitFor({ state: 'visible' });
    const refused = page.waitForResponse((r) => r.url().endsWith('/api/login/passkey'));
    await button.click();
    expect((await refused).status()).toBe(401);
    await page.locator('[data-passkey="signin"] [data-passkey-status]').filter({ hasText: /\S/ }).waitFor();
    expect(await textOf(page.locator('[data-passkey-status]'))).toContain('could not be verified');
    expect((await whoAmI(context, url)).status).toBe(401);
    expect(problems).toEqual([]);
    await context.close();

    // Every ceremony began on one instance and finished on the other (the proxy's record) ...
    const api = proxy.forwarded.filter((f) => f.path.startsWith('/api/'));
    const steps = api.map((f) => ({ ...f, route: `${f.method} ${f.path}` }));
    let finished = 0;
    for (const [name, { begin, finish }] of Object.entries(CEREMONIES)) {
      steps.forEach((step, i) => {
        if (step.route !== finish) return;
        const began = steps.slice(0, i).findLast((s) => s.route === begin);
        expect(began, `${name}: a finish without options`).toBeDefined();
        expect(step.target, `${name}: began and finished on instance ${step.target + 1}`).not.toBe(
          began!.target,
        );
        finished++;
      });
    }
    // register, sign-in, second step, re-auth, and the refused sign-in.
    expect(finished).toBe(5);
    // ... and the instances' own logs say the same: each served exactly the API requests the
    // proxy sent it, both served begins and finishes, and the ceremony finishes they logged
    // were begun by the other.
    for (const [index, server] of [one, two].entries()) {
      const logged = apiLines(server);
      expect(logged).toEqual(
        api.filter((f) => f.target === index).map((f) => `${f.method} ${f.path} ${f.status}`),
      );
      const served = logged.map((l) => l.replace(/ \d{3}$/, ''));
      const begins = Object.values(CEREMONIES).map((c) => c.begin);
      const finishes = Object.values(CEREMONIES).map((c) => c.finish);
      expect(
        served.some((r) => begins.includes(r)),
        `instance ${index + 1} began a ceremony`,
      ).toBe(true);
      expect(
        served.some((r) => finishes.includes(r)),
        `instance ${index + 1} finished one`,
      ).toBe(true);
    }
    // The finishes themselves were audited where they happened (both instances).
    const events = (server: ServerInstance) => server.text.join('\n');
    expect(`${events(one)}\n${events(two)}`).toMatch(/passkey\.registered/);
    expect(`${events(one)}\n${events(two)}`).toMatch(/passkey\.removed/);
  });
});
