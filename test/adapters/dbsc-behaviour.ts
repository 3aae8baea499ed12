import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { DbscEvent } from '../../packages/cloakroom/src/core/dbsc.js';
import { REGISTRATION_GRACE_MS } from '../../packages/cloakroom/src/core/dbsc.js';
import {
  type AdapterFactory,
  type AdapterHarness,
  type AppOptions,
  ORIGIN,
  PASSWORD,
  type TestResponse,
} from '../support/adapter-harness.js';
import {
  DbscBrowser,
  DbscDevice,
  parseChallenge,
  parseRegistration,
  type Send,
} from '../support/dbsc-client.js';
import { CookieJar } from '../support/server.js';

/*
 * Device Bound Session Credentials through each adapter, over the same transports as the rest of
 * the behaviour suite: a protocol-level browser (test/support/dbsc-client.ts) signs in, registers
 * a device key, loses and refreshes its bound cookie; a thief with the session cookie and another
 * key gets nowhere. Each app also has routes of its own at the default DBSC paths
 * (test/support/adapter-apps.ts): with `dbsc` on the adapter answers first and they never run.
 */

/** The response headers the DBSC browser and these tests read. */
const HEADERS = ['content-type', 'cache-control', 'secure-session-registration', 'secure-session-challenge'];

/** A harness response as a Web `Response`, which the DBSC browser and its cookie jar read. */
function toWeb(res: TestResponse): Response {
  const headers = new Headers();
  for (const name of HEADERS) {
    const value = res.header(name);
    if (value !== null) headers.set(name, value);
  }
  for (const cookie of res.setCookie) headers.append('set-cookie', cookie);
  return new Response(res.status === 204 ? null : res.text, { status: res.status, headers });
}

/** The browser's transport: the harness, plus `headers` on every request and `query` on every POST. */
function wire(
  h: AdapterHarness,
  { headers = {}, query = '' }: { headers?: Record<string, string>; query?: string } = {},
): Send {
  return async (path, init) =>
    toWeb(
      await h.request(init.method === 'POST' ? `${path}${query}` : path, {
        method: init.method,
        headers: { ...headers, ...init.headers },
      }),
    );
}

/** Signs in as the browser (its jar takes the session cookie); the answer carries the offer. */
async function signIn(
  h: AdapterHarness,
  browser: DbscBrowser,
  { username = 'alice', headers = {} }: { username?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const res = toWeb(
    await h.request('/login', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: PASSWORD }),
    }),
  );
  expect(res.status).toBe(200);
  browser.jar.absorb(res);
  return res;
}

/** A signed-in browser that registered its device; the registration answer is checked to be 200. */
async function registered(h: AdapterHarness, device = new DbscDevice()) {
  const browser = new DbscBrowser(wire(h), { device });
  const offer = await signIn(h, browser);
  const registration = await browser.register(offer);
  expect(registration.status).toBe(200);
  // Past the moments after registration in which a request without a bound cookie still passes.
  h.clock.advance(REGISTRATION_GRACE_MS);
  return { browser, offer, registration, csrf: ((await offer.json()) as { csrfToken: string }).csrfToken };
}

type Me = { session: { id: string; userId: string; bound: boolean } };

/** A JSON error answer: the status and `{ error, message }`, no cookie that signs in or binds. */
async function expectRefused(res: Response, status: number, error: string, what = ''): Promise<void> {
  expect(res.status, what).toBe(status);
  expect(res.headers.get('content-type'), what).toMatch(/^application\/json\b/);
  expect(await res.json(), what).toEqual({ error, message: expect.any(String) });
  expect(
    res.headers.getSetCookie().filter((c) => /^(__Host-)?cloakroom(-bound)?=[^;]/.test(c)),
    what,
  ).toEqual([]);
}

/** The `name=value` Set-Cookie lines of the bound cookie in an answer. */
const boundCookies = (res: Response) =>
  res.headers.getSetCookie().filter((c) => /^(__Host-)?cloakroom-bound=/.test(c));

/** A device that keeps every proof it signed, to look for them where they must not be. */
class RecordingDevice extends DbscDevice {
  readonly proofs: string[] = [];
  override sign(header: Record<string, unknown>, payload: Record<string, unknown>): string {
    const proof = super.sign(header, payload);
    this.proofs.push(proof);
    return proof;
  }
}

/** A harness made inside a test with other options; closed whatever happens. */
async function withHarness(
  factory: AdapterFactory,
  options: AppOptions,
  run: (h: AdapterHarness) => Promise<void>,
): Promise<void> {
  const h = await factory(options);
  try {
    await run(h);
  } finally {
    await h.close();
  }
}

export function dbscBehaviour(name: string, factory: AdapterFactory): void {
  describe(`${name} adapter with device-bound sessions (dbsc)`, () => {
    let h: AdapterHarness;
    beforeEach(async () => {
      h = await factory({ dbsc: true });
    });
    afterEach(async () => h.close());

    test('sign-in offers registration; a browser that never registers keeps a working session', async () => {
      const browser = new DbscBrowser(wire(h));
      const answer = await signIn(h, browser);
      const offer = parseRegistration(answer.headers.get('secure-session-registration'));
      expect(offer).toEqual({
        algorithms: ['ES256', 'RS256'],
        path: '/auth/dbsc/register',
        challenge: expect.stringMatching(/^\d+\.[\w-]{43}$/),
      });
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(boundCookies(answer)).toEqual([]);
      // No DBSC in this browser: the session cookie alone works, as without dbsc.
      const me = await browser.request('/me');
      expect(me.status).toBe(200);
      expect(((await me.json()) as Me).session.bound).toBe(false);
      expect(h.dbscEvents).toEqual([]);
    });

    test('registration (ES256 and RS256): 200 JSON instructions, the bound cookie and a challenge; both cookies open the route', async () => {
      for (const alg of ['ES256', 'RS256'] as const) {
        const { browser, registration } = await registered(h, new DbscDevice(alg));
        expect(registration.headers.get('content-type')).toMatch(/^application\/json\b/);
        expect(registration.headers.get('cache-control')).toBe('no-store');
        const body = (await registration.json()) as {
          session_identifier: string;
          credentials: { name: string; attributes: string }[];
        };
        expect(body).toEqual({
          session_identifier: expect.stringMatching(/^[\w-]{22}$/),
          refresh_url: '/auth/dbsc/refresh',
          scope: { origin: ORIGIN, include_site: false, scope_specification: [] },
          credentials: [
            { type: 'cookie', name: 'cloakroom-bound', attributes: 'Path=/; HttpOnly; SameSite=Lax' },
          ],
        });
        expect(body.credentials[0]!.name).toMatch(/-bound$/);
        const [bound, ...more] = boundCookies(registration);
        expect(more).toEqual([]);
        expect(bound).toMatch(/^cloakroom-bound=[\w.-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=600$/);
        // The session cookie is left as it is.
        expect(registration.headers.getSetCookie().filter((c) => c.startsWith('cloakroom='))).toEqual([]);
        expect(parseChallenge(registration.headers.get('secure-session-challenge'))).toEqual({
          challenge: expect.stringMatching(/^[\w-]{43}$/),
          id: body.session_identifier,
        });
        const me = await browser.request('/me');
        expect(me.status, alg).toBe(200);
        const { session } = (await me.json()) as Me;
        expect(session.bound).toBe(true);
        expect(h.dbscEvents.at(-1)).toEqual({
          type: 'registered',
          userId: h.ids.alice,
          sessionId: session.id,
          alg,
        });
      }
      expect(h.dbscRouteHits.value).toBe(0);
    });

    test('without its bound cookie a bound session is refused like no session and keeps its session cookie; a refresh brings it back', async () => {
      const { browser, registration, csrf } = await registered(h);
      const first = browser.boundCookie();
      const firstChallenge = registration.headers.get('secure-session-challenge');
      // The browser dropped it (a cookie's deadline is in its value: a later one differs).
      h.clock.advance(5_000);
      browser.expireBoundCookie();
      const me = await browser.request('/me');
      await expectRefused(me, 401, 'unauthenticated');
      // Nothing is cleared: the browser refreshes and retries with the same session cookie.
      expect(me.headers.getSetCookie()).toEqual([]);
      const mutate = await browser.request('/mutate', 'POST', { 'x-csrf-token': csrf });
      await expectRefused(mutate, 401, 'unauthenticated');
      expect(h.counter.value).toBe(0);
      expect(browser.jar.cookies.has('cloakroom')).toBe(true);

      const refreshed = await browser.refresh();
      expect(refreshed.status).toBe(200);
      expect(((await refreshed.json()) as { session_identifier: string }).session_identifier).toBe(
        browser.sessionId,
      );
      expect(boundCookies(refreshed)).toHaveLength(1);
      expect(browser.boundCookie()).not.toBeNull();
      expect(browser.boundCookie()).not.toBe(first);
      const challenge = refreshed.headers.get('secure-session-challenge');
      expect(parseChallenge(challenge)).not.toBeNull();
      expect(challenge).not.toBe(firstChallenge);
      expect((await browser.request('/me')).status).toBe(200);
      expect((await browser.request('/mutate', 'POST', { 'x-csrf-token': csrf })).status).toBe(200);
      expect(h.dbscEvents.map((e) => e.type)).toEqual(['registered', 'refreshed']);
      expect(h.dbscRouteHits.value).toBe(0);
    });

    test('once the bound cookie has run out, a proof over a stale challenge is challenged (403) and the next one refreshes', async () => {
      const { browser } = await registered(h);
      h.clock.advance(11 * 60_000);
      // The jar still sends it, but its deadline has passed.
      expect(browser.boundCookie()).not.toBeNull();
      await expectRefused(await browser.request('/me'), 401, 'unauthenticated');
      const stale = browser.cachedChallenge;
      const refreshed = await browser.refresh();
      expect(refreshed.status).toBe(200);
      expect(browser.cachedChallenge).not.toBe(stale);
      expect((await browser.request('/me')).status).toBe(200);
      expect(h.dbscEvents.map((e) => e.type)).toEqual(['registered', 'challenged', 'refreshed']);
    });

    test('a copied session cookie without the device key is refused, and its refreshes are refused and never yield a bound cookie', async () => {
      const { browser, offer } = await registered(h);
      const jar = new CookieJar();
      jar.cookies.set('cloakroom', browser.jar.cookies.get('cloakroom')!);
      const thief = new DbscBrowser(wire(h), { jar, device: new DbscDevice() });
      await expectRefused(await thief.request('/me'), 401, 'unauthenticated');

      // Knowing the binding's id and even a current challenge is no help without the key.
      thief.sessionId = browser.sessionId;
      thief.refreshUrl = browser.refreshUrl;
      thief.cachedChallenge = browser.cachedChallenge;
      await expectRefused(await thief.refresh(), 400, 'bad_request', 'stolen challenge');
      // Asked for a challenge, it gets one (403) and signs it with the wrong key: 400.
      thief.cachedChallenge = null;
      await expectRefused(await thief.refresh(), 400, 'bad_request', 'fresh challenge');
      // Nor can it bind the session to its own key with the sign-in's offer.
      await expectRefused(await thief.register(offer), 400, 'bad_request', 'registration');
      expect(thief.boundCookie()).toBeNull();
      await expectRefused(await thief.request('/me'), 401, 'unauthenticated');

      // The device itself is unaffected.
      expect((await browser.request('/me')).status).toBe(200);
      const refusals = h.dbscEvents.filter((e) => e.type === 'refused');
      expect(refusals.map((e) => [e.step, e.reason])).toEqual([
        ['refresh', 'bad-signature'],
        ['refresh', 'bad-signature'],
        ['registration', 'already-bound'],
      ]);
      expect(h.dbscEvents.map((e) => e.type)).toEqual([
        'registered',
        'refused',
        'challenged',
        'refused',
        'refused',
      ]);
    });

    test("the two DBSC endpoints are the adapter's: the app's routes there never run, with or without a query string", async () => {
      for (const query of ['', '?from=test']) {
        const register = toWeb(await h.request(`/auth/dbsc/register${query}`, { method: 'POST' }));
        await expectRefused(register, 401, 'unauthenticated', `register${query}`);
        const refresh = toWeb(await h.request(`/auth/dbsc/refresh${query}`, { method: 'POST' }));
        await expectRefused(refresh, 400, 'bad_request', `refresh${query}`);
      }
      // Signed in, a registration without a proof or from another origin is refused as well.
      const browser = new DbscBrowser(wire(h));
      await signIn(h, browser);
      await expectRefused(await browser.request('/auth/dbsc/register', 'POST'), 400, 'bad_request');
      const offer = parseRegistration((await signIn(h, browser)).headers.get('secure-session-registration'))!;
      const crossSite = await browser.request('/auth/dbsc/register', 'POST', {
        origin: 'https://evil.test',
        'sec-fetch-site': 'cross-site',
        'secure-session-response': `"${browser.device.registrationProof(offer.challenge)}"`,
      });
      await expectRefused(crossSite, 403, 'csrf');
      expect(h.dbscRouteHits.value).toBe(0);
      expect(h.dbscEvents.map((e) => (e.type === 'refused' ? `${e.step} ${e.reason}` : e.type))).toEqual([
        'registration no-session',
        'refresh missing-session-id',
        'registration no-session',
        'refresh missing-session-id',
        'registration missing-proof',
        'registration csrf',
      ]);
      // The session is still unbound and works with its cookie alone.
      expect((await browser.request('/me')).status).toBe(200);
    });

    test('onDbsc hears registered, challenged, refreshed and refused, and never a proof, challenge, key or cookie', async () => {
      const device = new RecordingDevice();
      const seen: string[] = [];
      const send = wire(h);
      const browser = new DbscBrowser(
        async (path, init) => {
          const res = await send(path, init);
          const offer = parseRegistration(res.headers.get('secure-session-registration'));
          const challenge = parseChallenge(res.headers.get('secure-session-challenge'));
          if (offer) seen.push(offer.challenge);
          if (challenge) seen.push(challenge.challenge);
          return res;
        },
        { device },
      );
      const offer = await signIn(h, browser);
      seen.push(parseRegistration(offer.headers.get('secure-session-registration'))!.challenge);
      expect((await browser.register(offer)).status).toBe(200);
      h.clock.advance(11 * 60_000);
      browser.expireBoundCookie();
      expect((await browser.refresh()).status).toBe(200);
      const thief = new DbscBrowser(send, { jar: new CookieJar(), device: new RecordingDevice() });
      thief.jar.cookies.set('cloakroom', browser.jar.cookies.get('cloakroom')!);
      Object.assign(thief, { sessionId: browser.sessionId, refreshUrl: browser.refreshUrl });
      thief.cachedChallenge = browser.cachedChallenge;
      expect((await thief.refresh()).status).toBe(400);

      const types = h.dbscEvents.map((e) => e.type);
      expect(types).toEqual(['registered', 'challenged', 'refreshed', 'refused']);
      const text = JSON.stringify(h.dbscEvents);
      const secrets = [
        ...seen,
        ...device.proofs,
        ...(thief.device as RecordingDevice).proofs,
        ...[device, thief.device].flatMap((d) => [d.publicJwk.x, d.publicJwk.y] as string[]),
        ...browser.jar.cookies.values(),
      ];
      expect(seen.length).toBeGreaterThanOrEqual(4);
      expect(device.proofs).toHaveLength(3);
      for (const secret of secrets) {
        expect(secret.length).toBeGreaterThan(20);
        expect(text).not.toContain(secret);
        // The parts of a proof (its signature, its payload) are not there either.
        for (const part of secret.split('.')) if (part.length > 20) expect(text).not.toContain(part);
      }
      // What they do carry: who and which session, by its public id.
      const { session } = (await (await browser.request('/me')).json()) as Me;
      for (const event of h.dbscEvents as Extract<DbscEvent, { sessionId: string | null }>[]) {
        expect(event).toMatchObject({ userId: h.ids.alice, sessionId: session.id });
      }
    });

    test('store down: registration and refresh answer 503 unavailable and hand out no bound cookie', async () => {
      const { browser } = await registered(h);
      const unbound = new DbscBrowser(wire(h));
      const offer = await signIn(h, unbound);
      await h.store.close();
      await expectRefused(await unbound.register(offer), 503, 'unavailable', 'registration');
      browser.expireBoundCookie();
      await expectRefused(await browser.refresh(), 503, 'unavailable', 'refresh');
      expect(browser.boundCookie()).toBeNull();
      expect(unbound.boundCookie()).toBeNull();
      expect(h.dbscEvents.map((e) => e.type)).toEqual(['registered']);
    });

    test('a registration while the store refuses writes answers 503 and binds nothing; it goes through once writes work', async () => {
      const browser = new DbscBrowser(wire(h));
      const offer = await signIn(h, browser);
      const release = h.lockWrites();
      try {
        await expectRefused(await browser.register(offer), 503, 'unavailable');
      } finally {
        release();
      }
      const me = await browser.request('/me');
      expect(((await me.json()) as Me).session.bound).toBe(false);
      expect((await browser.register(offer)).status).toBe(200);
      expect(((await (await browser.request('/me')).json()) as Me).session.bound).toBe(true);
    });

    test('rotation keeps the binding, and sign-out clears the bound cookie with the session cookie', async () => {
      const { browser, csrf } = await registered(h);
      const rotated = await browser.request('/rotate', 'POST', { 'x-csrf-token': csrf });
      expect(rotated.status).toBe(200);
      const { csrfToken } = (await rotated.json()) as { csrfToken: string };
      const me = await browser.request('/me');
      expect(me.status).toBe(200);
      expect(((await me.json()) as Me).session.bound).toBe(true);
      browser.expireBoundCookie();
      expect((await browser.request('/me')).status).toBe(401);
      expect((await browser.refresh()).status).toBe(200);

      const out = await browser.request('/logout', 'POST', { 'x-csrf-token': csrfToken });
      expect(out.status).toBe(204);
      expect(out.headers.getSetCookie()).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^cloakroom=; .*Max-Age=0/),
          expect.stringMatching(/^cloakroom-bound=; .*Max-Age=0/),
        ]),
      );
      expect(browser.jar.cookies.size).toBe(0);
    });
  });

  describe(`${name} adapter, dbsc variants`, () => {
    test('with dbsc off: no registration offer, the session needs no bound cookie, and the DBSC paths are ordinary app routes', async () => {
      await withHarness(factory, {}, async (h) => {
        const { response, cookie } = await h.login('alice');
        expect(response.header('secure-session-registration')).toBeNull();
        expect((await h.request('/me', { cookie })).status).toBe(200);
        for (const path of ['/auth/dbsc/register', '/auth/dbsc/refresh']) {
          const res = await h.request(path, { method: 'POST', cookie });
          expect(res.status, path).toBe(418);
          expect(res.json()).toEqual({ error: 'app_route' });
        }
        expect(h.dbscRouteHits.value).toBe(2);
        expect(h.dbscEvents).toEqual([]);
      });
    });

    test('on paths of its own (no app route there) and with a query string, registration and refresh are answered', async () => {
      const dbsc = { registrationPath: '/device/start', refreshPath: '/device/renew' };
      await withHarness(factory, { dbsc }, async (h) => {
        const browser = new DbscBrowser(wire(h, { query: '?via=test' }));
        const offer = await signIn(h, browser);
        expect(parseRegistration(offer.headers.get('secure-session-registration'))?.path).toBe(
          '/device/start',
        );
        const registration = await browser.register(offer);
        expect(registration.status).toBe(200);
        expect(browser.refreshUrl).toBe('/device/renew');
        h.clock.advance(REGISTRATION_GRACE_MS);
        browser.expireBoundCookie();
        expect((await browser.request('/me')).status).toBe(401);
        expect((await browser.refresh()).status).toBe(200);
        expect((await browser.request('/me')).status).toBe(200);
        // The default paths are nothing special now: the app's own routes answer there.
        expect((await browser.request('/auth/dbsc/refresh', 'POST')).status).toBe(418);
        expect(h.dbscEvents.map((e) => e.type)).toEqual(['registered', 'refreshed']);
      });
    });

    test('over HTTPS (trustProxy, X-Forwarded-Proto): the bound cookie is __Host-cloakroom-bound and Secure', async () => {
      await withHarness(factory, { dbsc: true, trustProxy: true }, async (h) => {
        const headers = { 'x-forwarded-proto': 'https' };
        const browser = new DbscBrowser(wire(h, { headers }));
        const registration = await browser.register(await signIn(h, browser, { headers }));
        expect(registration.status).toBe(200);
        expect(boundCookies(registration)).toEqual([
          expect.stringMatching(
            /^__Host-cloakroom-bound=[\w.-]+; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=600$/,
          ),
        ]);
        expect(browser.instructions).toMatchObject({
          scope: { origin: 'https://app.test' },
          credentials: [{ name: '__Host-cloakroom-bound' }],
        });
        expect((await browser.request('/me')).status).toBe(200);
        h.clock.advance(REGISTRATION_GRACE_MS);
        browser.expireBoundCookie();
        expect((await browser.request('/me')).status).toBe(401);
        expect((await browser.refresh()).status).toBe(200);
        expect((await browser.request('/me')).status).toBe(200);
      });
    });
  });
}
