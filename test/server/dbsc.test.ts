import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { REGISTRATION_GRACE_MS } from '../../packages/cloakroom/src/core/dbsc.js';
import { startHarnessOn } from '../support/backends.js';
import {
  type Alg,
  DbscBrowser,
  DbscDevice,
  parseChallenge,
  parseRegistration,
} from '../support/dbsc-client.js';
import { CookieJar, jsonOf, PASSWORD, type ServerHarness, startHarness } from '../support/server.js';
import { REDIS_URL, requireRedis } from '../support/services.js';

// Device Bound Session Credentials against the real server (CLOAKROOM_DBSC=on) over real HTTP,
// on each store a deployment can pick, with a protocol-level browser (test/support/dbsc-client.ts):
// a key pair made by node:crypto, the draft's headers and proofs, a cookie jar.

const BOUND_MS = 10 * 60_000;

type Store = 'sqlite' | 'postgres' | 'redis';
const STORES: Store[] = ['sqlite', 'postgres', 'redis'];

async function start(
  store: Store,
  clock: ManualClock,
  env: Record<string, string> = {},
): Promise<ServerHarness> {
  const options = { clock, env: { CLOAKROOM_DBSC: 'on', ...env } };
  if (store === 'redis') {
    (await requireRedis()).destroy();
    return startHarness({ ...options, env: { ...options.env, REDIS_URL } });
  }
  return startHarnessOn(store, options);
}

describe.each(STORES)('DBSC on %s', (store) => {
  const clock = manualClock(Date.now());
  let h: ServerHarness;

  beforeAll(async () => {
    h = await start(store, clock);
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  /** A browser (with DBSC or not) that signs in as `username` over the JSON API. */
  async function signIn(username = 'bob', device?: DbscDevice) {
    const browser = new DbscBrowser(
      (path, init) => h.fetch(path, { method: init.method, headers: init.headers }),
      device ? { device } : {},
    );
    const response = await h.fetch('/api/login', {
      json: { username, password: PASSWORD },
      headers: { origin: h.origin },
    });
    expect(response.status).toBe(200);
    browser.jar.absorb(response);
    const { csrfToken } = await jsonOf<{ csrfToken: string }>(response);
    return { browser, response, csrf: csrfToken };
  }

  async function boundBrowser(username = 'bob', device?: DbscDevice) {
    const signedIn = await signIn(username, device);
    const registered = await signedIn.browser.register(signedIn.response);
    expect(registered.status, await registered.clone().text()).toBe(200);
    // Past the moments after registration in which a request without a bound cookie still passes.
    clock.advance(REGISTRATION_GRACE_MS);
    return signedIn;
  }

  const session = (browser: DbscBrowser) => browser.request('/api/session');
  const sessionCookie = (jar: CookieJar) =>
    [...jar.cookies].find(([name]) => /^(__Host-)?cloakroom$/.test(name));

  test('sign-in offers registration: ES256 and RS256, the registration path, a challenge', async () => {
    const { response } = await signIn();
    const offer = parseRegistration(response.headers.get('secure-session-registration'));
    expect(offer).toMatchObject({ algorithms: ['ES256', 'RS256'], path: '/auth/dbsc/register' });
    expect(offer!.challenge).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
  });

  test('registration binds the session: instructions, a bound cookie, a challenge for the next refresh', async () => {
    const { browser, response } = await signIn();
    const registered = await browser.register(response);
    expect(registered.status).toBe(200);
    expect(registered.headers.get('cache-control')).toContain('no-store');
    expect(browser.instructions).toMatchObject({
      session_identifier: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      refresh_url: '/auth/dbsc/refresh',
      scope: {
        origin: h.origin,
        include_site: false,
        scope_specification: [{ type: 'exclude', path: '/assets/' }],
      },
      credentials: [
        { type: 'cookie', name: 'cloakroom-bound', attributes: 'Path=/; HttpOnly; SameSite=Lax' },
      ],
    });
    expect(browser.boundCookie()).toMatch(/^cloakroom-bound=/);
    expect(parseChallenge(registered.headers.get('secure-session-challenge'))?.id).toBe(browser.sessionId);
    // The session works with both cookies, and says it is bound.
    expect((await session(browser)).status).toBe(200);
    const list = await jsonOf<{ sessions: Array<{ current: boolean; bound: boolean }> }>(
      await browser.request('/api/sessions'),
    );
    expect(list.sessions.find((s) => s.current)?.bound).toBe(true);
    const audit = h.logs.find((l) => l.event === 'dbsc.registered' && l.userId === h.ids.bob);
    expect(audit).toMatchObject({ alg: 'ES256' });
  });

  test('a bound session without its bound cookie is refused like no session, keeps its session cookie, and a refresh restores it', async () => {
    const { browser } = await boundBrowser();
    browser.expireBoundCookie();
    const before = sessionCookie(browser.jar);
    const refused = await session(browser);
    expect(refused.status).toBe(401);
    expect(refused.headers.getSetCookie()).toEqual([]);
    expect(sessionCookie(browser.jar)).toEqual(before);
    const refreshed = await browser.refresh();
    expect(refreshed.status, await refreshed.clone().text()).toBe(200);
    expect(browser.boundCookie()).not.toBeNull();
    expect((await session(browser)).status).toBe(200);
    expect(h.logs.some((l) => l.event === 'dbsc.refreshed' && l.userId === h.ids.bob)).toBe(true);
  });

  test('for ten seconds after registration a request without any bound cookie still passes (it left before the registration was answered); a wrong bound cookie never does', async () => {
    const { browser, response } = await signIn();
    expect((await browser.register(response)).status).toBe(200);
    const bound = browser.boundCookie()!;
    browser.expireBoundCookie();
    expect((await session(browser)).status).toBe(200);
    const value = bound.split('=')[1]!;
    browser.jar.cookies.set('cloakroom-bound', `${value.slice(0, -1)}${value.endsWith('A') ? 'B' : 'A'}`);
    expect((await session(browser)).status).toBe(401);
    browser.expireBoundCookie();
    clock.advance(REGISTRATION_GRACE_MS);
    expect((await session(browser)).status).toBe(401);
  });

  test('a refresh without a cached challenge gets a 403 challenge first, then the proof is accepted', async () => {
    const { browser } = await boundBrowser();
    browser.cachedChallenge = null;
    browser.expireBoundCookie();
    const first = await browser.request(browser.refreshUrl!, 'POST', {
      'sec-secure-session-id': `"${browser.sessionId}"`,
    });
    expect(first.status).toBe(403);
    const challenge = parseChallenge(first.headers.get('secure-session-challenge'));
    expect(challenge?.id).toBe(browser.sessionId);
    expect(first.headers.getSetCookie()).toEqual([]);
    expect((await browser.refresh()).status).toBe(200);
    expect((await session(browser)).status).toBe(200);
  });

  test('the bound cookie expires after ten minutes; the device refreshes it, a copy of both cookies stops working', async () => {
    const { browser } = await boundBrowser();
    const thief = new CookieJar();
    for (const [name, value] of browser.jar.cookies) thief.cookies.set(name, value);
    // Within the bound cookie's life, the copied pair works (what DBSC cannot prevent).
    expect((await h.fetch('/api/session', { jar: thief })).status).toBe(200);
    clock.advance(BOUND_MS + 1_000);
    expect((await h.fetch('/api/session', { jar: thief })).status).toBe(401);
    expect((await session(browser)).status).toBe(401);
    expect((await browser.refresh()).status).toBe(200);
    expect((await session(browser)).status).toBe(200);
    // The thief's old bound cookie stays dead, and a refresh without the key gets no new one.
    expect((await h.fetch('/api/session', { jar: thief })).status).toBe(401);
    const stolen = new DbscBrowser((path, init) => h.fetch(path, init), { jar: thief });
    stolen.sessionId = browser.sessionId;
    stolen.refreshUrl = browser.refreshUrl;
    stolen.cachedChallenge = browser.cachedChallenge;
    const attempt = await stolen.refresh();
    expect(attempt.status).toBe(400);
    expect(stolen.jar.cookies.get('cloakroom-bound')).toBe(thief.cookies.get('cloakroom-bound'));
    expect((await h.fetch('/api/session', { jar: thief })).status).toBe(401);
    expect(h.logs.some((l) => l.event === 'dbsc.refused' && l.reason === 'bad-signature')).toBe(true);
  });

  test('a stolen session cookie without the key: refused, cannot refresh, cannot register over the binding', async () => {
    const { browser, response } = await boundBrowser();
    const thief = new DbscBrowser((path, init) => h.fetch(path, init));
    const [name, value] = sessionCookie(browser.jar)!;
    thief.jar.cookies.set(name, value);
    expect((await session(thief)).status).toBe(401);
    // Even with the registration offer of the sign-in answer, the session is bound already.
    const registration = await thief.register(response);
    expect(registration.status).toBe(400);
    expect(await registration.json()).toMatchObject({ error: 'bad_request' });
    expect(thief.boundCookie()).toBeNull();
    expect((await session(thief)).status).toBe(401);
    expect((await session(browser)).status).toBe(200);
  });

  test('registration needs the challenge of this sign-in: another session’s, a forged or an expired one is refused', async () => {
    const a = await signIn();
    const b = await signIn();
    // b's browser signs a's challenge: cross-session, refused.
    const cross = await b.browser.register(a.response);
    expect(cross.status).toBe(400);
    const forged = parseRegistration(b.response.headers.get('secure-session-registration'))!;
    const wrongMac = `${forged.challenge.split('.')[0]}.${'A'.repeat(43)}`;
    const res = await b.browser.request('/auth/dbsc/register', 'POST', {
      'secure-session-response': `"${b.browser.device.registrationProof(wrongMac)}"`,
    });
    expect(res.status).toBe(400);
    // The challenge lives as long as a challenge does (5 minutes).
    clock.advance(5 * 60_000 + 1);
    expect((await b.browser.register(b.response)).status).toBe(400);
    expect(b.browser.boundCookie()).toBeNull();
    // b's session still works: it was never bound.
    expect((await session(b.browser)).status).toBe(200);
    expect(h.logs.some((l) => l.event === 'dbsc.refused' && l.reason === 'bad-challenge')).toBe(true);
  });

  test('forged proofs are refused: another key, alg none, HS256, a tampered payload, a private key, a wrong audience', async () => {
    const { browser, response } = await signIn();
    const offer = parseRegistration(response.headers.get('secure-session-registration'))!;
    const other = new DbscDevice();
    const good = browser.device.registrationProof(offer.challenge);
    const [head, body] = good.split('.') as [string, string];
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const proofs = [
      // Signed by another key than the one it carries.
      `${head}.${body}.${other.registrationProof(offer.challenge).split('.')[2]}`,
      `${enc({ typ: 'dbsc+jwt', alg: 'none', jwk: browser.device.publicJwk })}.${body}.`,
      `${enc({ typ: 'dbsc+jwt', alg: 'HS256', jwk: browser.device.publicJwk })}.${body}.${'A'.repeat(43)}`,
      `${head}.${enc({ jti: offer.challenge, extra: 1 })}.${good.split('.')[2]}`,
      browser.device.sign(
        { typ: 'dbsc+jwt', alg: 'ES256', jwk: { ...browser.device.publicJwk, d: 'AAAA' } },
        { jti: offer.challenge },
      ),
      browser.device.registrationProof(offer.challenge, {
        aud: 'https://elsewhere.example/auth/dbsc/register',
      }),
      browser.device.sign(
        { typ: 'JWT', alg: 'ES256', jwk: browser.device.publicJwk },
        { jti: offer.challenge },
      ),
      'not a jwt',
    ];
    for (const proof of proofs) {
      const res = await browser.request('/auth/dbsc/register', 'POST', {
        'secure-session-response': `"${proof}"`,
      });
      expect(res.status, proof.slice(0, 60)).toBe(400);
    }
    expect(browser.boundCookie()).toBeNull();
    // The honest proof still registers: nothing above spent the challenge.
    expect((await browser.register(response)).status).toBe(200);
    // Nothing replayable reaches the log: no proof, no challenge.
    expect(h.logText()).not.toContain(offer.challenge);
    expect(h.logText()).not.toContain(good.split('.')[2]);
  });

  test('a refresh proof is single-use: a replay is challenged again, and of ten parallel uses exactly one wins', async () => {
    const { browser } = await boundBrowser();
    const challenge = browser.cachedChallenge!;
    const proof = browser.device.refreshProof(challenge);
    const send = () =>
      h.fetch('/auth/dbsc/refresh', {
        method: 'POST',
        jar: browser.jar,
        headers: {
          'sec-secure-session-id': `"${browser.sessionId}"`,
          'secure-session-response': `"${proof}"`,
        },
      });
    const answers = await Promise.all(Array.from({ length: 10 }, send));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    expect(answers.filter((r) => r.status === 403)).toHaveLength(9);
    for (const r of answers.filter((a) => a.status === 403)) expect(r.headers.getSetCookie()).toEqual([]);
    const replay = await send();
    expect(replay.status).toBe(403);
    expect(parseChallenge(replay.headers.get('secure-session-challenge'))?.challenge).not.toBe(challenge);
  });

  test('a proof for one session is refused by another (cross-session), with either session cookie', async () => {
    const a = await boundBrowser();
    const b = await boundBrowser();
    const aProof = a.browser.device.refreshProof(a.browser.cachedChallenge!);
    // a's proof, b's cookies and b's session id: not b's key.
    const res = await b.browser.request('/auth/dbsc/refresh', 'POST', {
      'sec-secure-session-id': `"${b.browser.sessionId}"`,
      'secure-session-response': `"${aProof}"`,
    });
    expect(res.status).toBe(400);
    // a's session id with b's cookie: not b's binding, so b's browser is told to stop.
    const mixed = await b.browser.request('/auth/dbsc/refresh', 'POST', {
      'sec-secure-session-id': `"${a.browser.sessionId}"`,
      'secure-session-response': `"${aProof}"`,
    });
    expect(mixed.status).toBe(200);
    expect(await mixed.json()).toEqual({ session_identifier: a.browser.sessionId, continue: false });
    // a's proof still works for a: neither attempt spent a's challenge.
    a.browser.expireBoundCookie();
    expect((await a.browser.refresh()).status).toBe(200);
  });

  test('after sign-out a refresh ends the device session (continue: false) and clears the bound cookie', async () => {
    const { browser, csrf } = await boundBrowser();
    const out = await browser.request('/api/logout', 'POST', { 'x-csrf-token': csrf, origin: h.origin });
    expect(out.status).toBe(204);
    expect(browser.boundCookie()).toBeNull();
    const res = await browser.refresh();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ session_identifier: browser.sessionId, continue: false });
  });

  test('a browser without DBSC is unaffected: its session needs no bound cookie', async () => {
    const { browser } = await signIn();
    expect((await session(browser)).status).toBe(200);
    clock.advance(BOUND_MS + 1_000);
    expect((await session(browser)).status).toBe(200);
    const list = await jsonOf<{ sessions: Array<{ current: boolean; bound: boolean }> }>(
      await browser.request('/api/sessions'),
    );
    expect(list.sessions.find((s) => s.current)?.bound).toBe(false);
  });

  test('forward auth: a bound session without its bound cookie is 401; ?bound=1 refuses unbound sessions', async () => {
    const plain = await signIn();
    const bound = await boundBrowser();
    expect((await plain.browser.request('/auth/verify')).status).toBe(200);
    const refused = await plain.browser.request('/auth/verify?bound=1');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: 'device_binding_required' });
    expect((await bound.browser.request('/auth/verify?bound=1')).status).toBe(200);
    bound.browser.expireBoundCookie();
    expect((await bound.browser.request('/auth/verify?bound=1')).status).toBe(401);
    expect((await plain.browser.request('/auth/verify?bound=yes')).status).toBe(400);
  });

  test('metrics count registrations and refreshes by result', async () => {
    const text = await (await h.fetch('/metrics')).text();
    expect(text).toMatch(/cloakroom_dbsc_registrations_total\{result="bound"\} [1-9]/);
    expect(text).toMatch(/cloakroom_dbsc_refreshes_total\{result="refreshed"\} [1-9]/);
    expect(text).toMatch(/cloakroom_dbsc_registrations_total\{result="bad-challenge"\} [1-9]/);
    expect(text).toMatch(/cloakroom_bound_requests_total [1-9]/);
    expect(text).toMatch(/cloakroom_session_validations_total\{result="device-unproven"\} [1-9]/);
  });
});

describe.each<Alg>(['RS256'])('DBSC with an %s device key', (alg) => {
  let h: ServerHarness;
  const clock = manualClock(Date.now());
  beforeAll(async () => {
    h = await startHarness({ clock, env: { CLOAKROOM_DBSC: 'on' } });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  test('registers, refreshes and is refused without the bound cookie', async () => {
    const browser = new DbscBrowser((path, init) => h.fetch(path, init), { device: new DbscDevice(alg) });
    const response = await h.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } });
    browser.jar.absorb(response);
    expect((await browser.register(response)).status).toBe(200);
    clock.advance(REGISTRATION_GRACE_MS);
    browser.expireBoundCookie();
    expect((await browser.request('/api/session')).status).toBe(401);
    expect((await browser.refresh()).status).toBe(200);
    expect((await browser.request('/api/session')).status).toBe(200);
  });

  test('an RSA key shorter than 2048 bits is refused', async () => {
    const browser = new DbscBrowser((path, init) => h.fetch(path, init), {
      device: new DbscDevice(alg, 1024),
    });
    const response = await h.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } });
    browser.jar.absorb(response);
    expect((await browser.register(response)).status).toBe(400);
  });
});

describe('DBSC off (the default)', () => {
  let h: ServerHarness;
  beforeAll(async () => {
    h = await startHarness();
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  test('sign-in offers no registration, the endpoints do not exist, ?bound=1 says how to turn it on', async () => {
    const response = await h.fetch('/api/login', { json: { username: 'bob', password: PASSWORD } });
    expect(response.headers.get('secure-session-registration')).toBeNull();
    const jar = new CookieJar();
    jar.absorb(response);
    const res = await h.fetch('/auth/dbsc/refresh', {
      method: 'POST',
      jar,
      headers: { 'sec-secure-session-id': '"x"' },
    });
    expect(res.status).not.toBe(200);
    expect(res.headers.get('secure-session-challenge')).toBeNull();
    const verify = await h.fetch('/auth/verify?bound=1', { jar });
    expect(verify.status).toBe(400);
    expect((await jsonOf<{ message: string }>(verify)).message).toContain('CLOAKROOM_DBSC=on');
  });
});
