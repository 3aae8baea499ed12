// Smoke test of examples/hono-passkeys, started as its README says on a port of its own (a
// passkey is bound to the origin, http://localhost:PORT, so the port must be known up front):
// the passkey flows over HTTP with a software authenticator, then the page itself in Debian's
// Chromium with the browser's virtual authenticator.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { addVirtualAuthenticator, launchBrowser, newContext, watchPolicyErrors } from '../e2e/support.js';
import { freePort } from '../support/services.js';
import {
  type CreationOptionsJSON,
  createSoftAuthenticator,
  type RequestOptionsJSON,
  type SoftAuthenticator,
} from '../support/soft-authenticator.js';
import { CookieJar, type RunningProcess, startExample } from './support.js';

const DEMO = { username: 'demo', password: 'harbour-lantern-42' };

type Example = RunningProcess & { url: string };

/**
 * The example on a free port, and the origin a browser uses there (passkeys are made for it):
 * localhost, since a relying party ID cannot be an IP address.
 */
async function start(): Promise<{ app: Example; origin: string }> {
  const app = await startExample('examples/hono-passkeys/server.ts', { PORT: String(await freePort()) });
  return { app, origin: `http://localhost:${new URL(app.url).port}` };
}

let app: Example;
let origin: string;

beforeAll(async () => {
  ({ app, origin } = await start());
}, 40_000);

afterAll(async () => {
  await app?.stop();
});

/** A POST of JSON, from the app's own origin as a browser would send it; `token` is X-CSRF-Token. */
function post(jar: CookieJar, path: string, body: unknown, token?: string): Promise<Response> {
  return jar.fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      origin: app.url,
      ...(token ? { 'x-csrf-token': token } : {}),
    },
    body: JSON.stringify(body),
  });
}

/** A copy of a jar's cookies: what someone who captured the browser's request holds. */
function copyOf(jar: CookieJar): CookieJar {
  const copy = new CookieJar();
  for (const [name, value] of jar.cookies) copy.cookies.set(name, value);
  return copy;
}

async function me(jar: CookieJar): Promise<{ status: number; methods?: string[]; csrfToken?: string }> {
  const res = await jar.fetch(`${app.url}/api/me`);
  if (res.status !== 200) return { status: res.status };
  const body = (await res.json()) as { methods: string[]; csrfToken: string };
  return { status: 200, ...body };
}

/** The options of a begin step, which must answer 200. */
async function optionsOf<T>(res: Response): Promise<T> {
  expect(res.status).toBe(200);
  return ((await res.json()) as { options: T }).options;
}

/** Signs in with the password alone (the account has no passkey): the CSRF token. */
async function passwordSignIn(jar: CookieJar): Promise<string> {
  const res = await post(jar, '/api/login', DEMO);
  expect(res.status).toBe(200);
  return ((await res.json()) as { csrfToken: string }).csrfToken;
}

test('the page loads its code from an external script under a CSP without inline script', async () => {
  const page = await fetch(`${app.url}/`);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('<script src="/app.js" defer></script>');
  expect(html).not.toMatch(/<script>(?!<\/script>)/);
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  expect(app.output()).toContain(`(open ${origin};`);
});

test('over HTTP: add a passkey, sign in with it alone and after the password; replays, other origins and removed passkeys are refused', async () => {
  const authenticator: SoftAuthenticator = createSoftAuthenticator(origin);
  const jar = new CookieJar();
  let token = await passwordSignIn(jar);

  // Adding a passkey: without the CSRF token nothing is begun.
  expect((await post(jar, '/api/passkeys/options', {})).status).toBe(403);
  const creation = await optionsOf<CreationOptionsJSON>(await post(jar, '/api/passkeys/options', {}, token));
  expect(creation.rp.id).toBe('localhost');
  // A response made on another origin does not verify (and uses up the challenge).
  const foreign = await post(
    jar,
    '/api/passkeys',
    { response: authenticator.register(creation, { origin: 'http://evil.test', keep: false }) },
    token,
  );
  expect(foreign.status).toBe(400);
  expect(await foreign.json()).toMatchObject({ error: 'invalid_passkey' });

  const again = await optionsOf<CreationOptionsJSON>(await post(jar, '/api/passkeys/options', {}, token));
  const added = await post(
    jar,
    '/api/passkeys',
    { response: authenticator.register(again), name: 'Laptop' },
    token,
  );
  expect(added.status).toBe(201);
  const { passkey, recoveryCodes } = (await added.json()) as {
    passkey: { id: string; name: string };
    recoveryCodes: string[];
  };
  expect(passkey.name).toBe('Laptop');
  expect(recoveryCodes).toHaveLength(10);
  const listed = await jar.fetch(`${app.url}/api/passkeys`);
  expect(await listed.json()).toEqual({
    passkeys: [
      {
        id: passkey.id,
        name: 'Laptop',
        createdAt: expect.any(String),
        lastUsedAt: null,
        synced: false,
      },
    ],
  });

  expect((await post(jar, '/api/logout', {}, token)).status).toBe(204);
  expect((await me(jar)).status).toBe(401);

  // A passkey alone, no username: a session whose methods say so.
  const request = await optionsOf<RequestOptionsJSON>(await post(jar, '/api/login/passkey/options', {}));
  expect(request.allowCredentials).toEqual([]);
  const captured = copyOf(jar); // the ceremony cookie, as someone who saw this request holds it
  const assertion = authenticator.authenticate(request);
  const signedIn = await post(jar, '/api/login/passkey', { response: assertion });
  expect(signedIn.status).toBe(200);
  expect(await signedIn.json()).toMatchObject({ user: { username: 'demo' }, csrfToken: expect.any(String) });
  expect(await me(jar)).toMatchObject({ status: 200, methods: ['hwk'] });

  // The very same request again, cookie and all: its challenge is used up.
  const replayed = await post(captured, '/api/login/passkey', { response: assertion });
  expect(replayed.status).toBe(401);
  expect(await replayed.json()).toMatchObject({ error: 'ceremony_expired' });
  expect((await me(captured)).status).toBe(401);

  // An assertion made on another origin (a phishing page relaying the challenge): no session.
  const phished = new CookieJar();
  const relayed = await optionsOf<RequestOptionsJSON>(await post(phished, '/api/login/passkey/options', {}));
  const fromEvil = await post(phished, '/api/login/passkey', {
    response: authenticator.authenticate(relayed, { origin: 'http://evil.test' }),
  });
  expect(fromEvil.status).toBe(401);
  expect(await fromEvil.json()).toMatchObject({ error: 'invalid_passkey' });
  expect((await me(phished)).status).toBe(401);

  // Now the password alone is not enough: the passkey is the second step.
  const twoStep = new CookieJar();
  const first = await post(twoStep, '/api/login', DEMO);
  expect(first.status).toBe(401);
  expect(await first.json()).toEqual({ error: 'second_factor_required' });
  expect((await me(twoStep)).status).toBe(401);
  // Without the pending cookie of that password step there is no second step to begin.
  const stranger = await post(new CookieJar(), '/api/login/second-factor/passkey/options', {});
  expect(stranger.status).toBe(401);
  expect(await stranger.json()).toMatchObject({ error: 'pending_expired' });
  const second = await optionsOf<RequestOptionsJSON>(
    await post(twoStep, '/api/login/second-factor/passkey/options', {}),
  );
  expect(second.allowCredentials?.map((c) => c.id)).toEqual([passkey.id]);
  const finished = await post(twoStep, '/api/login/second-factor/passkey', {
    response: authenticator.authenticate(second),
  });
  expect(finished.status).toBe(200);
  expect(await me(twoStep)).toMatchObject({ status: 200, methods: ['pwd', 'hwk'] });

  // A recovery code stands in for the passkey, once.
  const recovery = new CookieJar();
  expect((await post(recovery, '/api/login', DEMO)).status).toBe(401);
  const code = { recoveryCode: recoveryCodes[0] };
  expect((await post(recovery, '/api/login/second-factor/recovery-code', code)).status).toBe(200);
  expect((await me(recovery)).status).toBe(200);
  const reuse = new CookieJar();
  expect((await post(reuse, '/api/login', DEMO)).status).toBe(401);
  const used = await post(reuse, '/api/login/second-factor/recovery-code', code);
  expect(used.status).toBe(401);
  expect(await used.json()).toMatchObject({ error: 'invalid_code' });

  // Removing the passkey (a recent sign-in, and the CSRF token).
  token = (await me(twoStep)).csrfToken!;
  const path = `${app.url}/api/passkeys/${encodeURIComponent(passkey.id)}`;
  expect((await twoStep.fetch(path, { method: 'DELETE' })).status).toBe(403);
  expect((await twoStep.fetch(path, { method: 'DELETE', headers: { 'x-csrf-token': token } })).status).toBe(
    204,
  );
  expect(await (await twoStep.fetch(`${app.url}/api/passkeys`)).json()).toEqual({ passkeys: [] });

  // … after which the authenticator's passkey signs nobody in, and the password alone does again.
  const late = new CookieJar();
  const lateOptions = await optionsOf<RequestOptionsJSON>(await post(late, '/api/login/passkey/options', {}));
  const refused = await post(late, '/api/login/passkey', {
    response: authenticator.authenticate(lateOptions),
  });
  expect(refused.status).toBe(401);
  expect(await refused.json()).toMatchObject({ error: 'invalid_passkey' });
  expect((await me(late)).status).toBe(401);
  await passwordSignIn(late);
  expect(await me(late)).toMatchObject({ status: 200, methods: ['pwd'] });
  expect(app.output()).toContain('"event":"login.passkey"');
});

test('in Chromium: password, add a passkey, sign out, sign in with the passkey alone and as a second step', async () => {
  // An instance of its own: the demo account starts without a passkey whatever the test above did.
  const { app: fresh, origin } = await start();
  const browser = await launchBrowser();
  try {
    const page = await (await newContext(browser)).newPage();
    const problems = watchPolicyErrors(page);
    const authenticator = await addVirtualAuthenticator(page);
    await page.goto(origin);

    await page.getByLabel('Username').fill(DEMO.username);
    await page.getByLabel('Password').fill(DEMO.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => page.locator('#how').textContent()).toBe('(with the password)');

    await page.getByLabel('Passkey name').fill('Virtual key');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await expect.poll(() => page.locator('#passkeys li').first().textContent()).toMatch(/^Virtual key — /);
    await expect.poll(() => page.locator('#code-list li').count()).toBe(10);
    const held = await authenticator.credentials();
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ rpId: 'localhost', isResidentCredential: true });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.locator('#login').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect.poll(() => page.locator('#how').textContent()).toBe('(with a passkey)');
    expect(await page.locator('#username').textContent()).toBe('demo');

    // The password now asks for the passkey too.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').fill(DEMO.username);
    await page.getByLabel('Password').fill(DEMO.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Continue with your passkey' }).click();
    await expect.poll(() => page.locator('#how').textContent()).toBe('(password and passkey)');
    await expect.poll(() => page.locator('#passkeys li').first().textContent()).toMatch(/last used/);

    expect(problems).toEqual([]);
  } finally {
    await browser.close();
    await fresh.stop();
  }
}, 90_000);
