import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
import {
  CookieJar,
  cookiePair,
  PASSWORD,
  type ServerHarness,
  sessionCookieOf,
  startHarness,
} from '../support/server.js';

// The pages of two-step sign-in and re-authentication, as HTTP: a set-up in progress keeps its
// key; the second step refuses whatever is not this browser's own pending sign-in sent from our
// own form; a sensitive form outside the re-auth window goes through /reauth. Recovery links:
// recover-page.test.ts. The same in a real browser: test/e2e/second-factor.test.ts.

const clock = manualClock(Date.UTC(2026, 10, 24, 9, 0));
let h: ServerHarness;
/** carol has two-step sign-in; her recovery codes, as the set-up page showed them. */
let recoveryCodes: string[] = [];
let carolKey = '';

const sameOrigin = () => ({ origin: h.origin, 'sec-fetch-site': 'same-origin' });
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
const codeAt = (key: string, at = clock.now()) =>
  new TOTP({ secret: Secret.fromBase32(key.replace(/\s/g, '')) }).generate({ timestamp: at });

/** Signs in over the JSON API and opens `path`: the page's cookie jar and its form token. */
async function pageSession(username: string, path = '/account'): Promise<{ jar: CookieJar; csrf: string }> {
  const login = await h.login(username);
  const jar = new CookieJar();
  jar.cookies.set(...cookiePair(login.cookie)!);
  const html = await (await h.fetch(path, { jar })).text();
  return { jar, csrf: csrfOf(html) };
}

/** Sets up two-step sign-in for `username` through the pages; returns the key and the codes. */
async function enrol(username: string): Promise<{ key: string; codes: string[] }> {
  const { jar, csrf } = await pageSession(username, '/account/second-factor');
  const begun = await h.fetch('/account/second-factor/totp', {
    jar,
    headers: sameOrigin(),
    form: { _csrf: csrf },
  });
  expect(begun.status).toBe(200);
  const html = await begun.text();
  expect(html).toContain('<svg');
  const key = /<code class="key" id="totp-key">([^<]+)<\/code>/.exec(html)?.[1] ?? '';
  expect(key).toMatch(/^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/);
  const confirmed = await h.fetch('/account/second-factor/totp/confirm', {
    jar,
    headers: sameOrigin(),
    form: { _csrf: csrf, code: codeAt(key) },
  });
  expect(confirmed.status).toBe(200);
  const codes = [...(await confirmed.text()).matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((m) => m[1]!);
  expect(codes).toHaveLength(10);
  // The code of this step is used up; later sign-ins use the next step's.
  clock.advance(30_000);
  return { key, codes };
}

/** The password step of the sign-in form for `username`: a jar holding the pending state. */
async function passwordStep(username: string): Promise<CookieJar> {
  const jar = new CookieJar();
  const form = h.loginFormToken();
  jar.cookies.set(...cookiePair(form.cookie)!);
  const res = await h.fetch('/login', {
    jar,
    headers: sameOrigin(),
    form: { username, password: PASSWORD, _csrf: form.token, next: '/account' },
  });
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/login/second-factor?next=%2Faccount');
  expect(sessionCookieOf(res)).toBeNull();
  return jar;
}

/** The second step's form as this browser sees it: its login token. */
async function stepToken(jar: CookieJar): Promise<string> {
  const res = await h.fetch('/login/second-factor?next=%2Faccount', { jar });
  expect(res.status).toBe(200);
  return csrfOf(await res.text());
}

beforeAll(async () => {
  h = await startHarness({ clock });
  await h.createUser('carol');
  ({ key: carolKey, codes: recoveryCodes } = await enrol('carol'));
});
afterAll(() => h?.close());

describe('/account/second-factor: a set-up in progress keeps its key', () => {
  const keyOf = (html: string) => /<code class="key" id="totp-key">([^<]+)<\/code>/.exec(html)?.[1] ?? null;

  test('a wrong first code shows the same QR code and key again; the next code from that key turns it on', async () => {
    await h.createUser('fay');
    const { jar, csrf } = await pageSession('fay', '/account/second-factor');
    const begun = await h.fetch('/account/second-factor/totp', {
      jar,
      headers: sameOrigin(),
      form: { _csrf: csrf },
    });
    const first = await begun.text();
    const key = keyOf(first);
    expect(key).toMatch(/^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/);
    const qr = /<figure class="qr">([\s\S]*?)<\/figure>/.exec(first)?.[1];
    expect(qr).toContain('<svg');

    const wrong = await h.fetch('/account/second-factor/totp/confirm', {
      jar,
      headers: sameOrigin(),
      form: { _csrf: csrf, code: codeAt(key!, clock.now() + 10 * 30_000) },
    });
    expect(wrong.status).toBe(401);
    const html = await wrong.text();
    expect(html).toContain('That code is not right.');
    expect(keyOf(html)).toBe(key);
    expect(/<figure class="qr">([\s\S]*?)<\/figure>/.exec(html)?.[1]).toBe(qr);
    // "Start again" (a new key) is still offered, as a choice.
    expect(html).toContain('<form method="post" action="/account/second-factor/totp">');

    // A later visit to the page shows the same set-up, not a new key.
    const visit = await h.fetch('/account/second-factor', { jar });
    expect(visit.status).toBe(200);
    expect(keyOf(await visit.text())).toBe(key);

    const right = await h.fetch('/account/second-factor/totp/confirm', {
      jar,
      headers: sameOrigin(),
      form: { _csrf: csrf, code: codeAt(key!) },
    });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('Two-step sign-in is on');
    const login = await h.fetch('/api/login', { json: { username: 'fay', password: PASSWORD } });
    expect(await login.json()).toMatchObject({ error: 'second_factor_required' });
    clock.advance(30_000);
  });

  test('"Start again" makes a new key, and the page then shows that one', async () => {
    await h.createUser('gus');
    const { jar, csrf } = await pageSession('gus', '/account/second-factor');
    const begin = async () =>
      keyOf(
        await (
          await h.fetch('/account/second-factor/totp', { jar, headers: sameOrigin(), form: { _csrf: csrf } })
        ).text(),
      );
    const first = await begin();
    const second = await begin();
    expect(second).not.toBe(first);
    expect(keyOf(await (await h.fetch('/account/second-factor', { jar })).text())).toBe(second);
  });
});

describe('/login/second-factor: only this browser’s pending sign-in, from our own form', () => {
  test('without a pending sign-in the step sends the browser back to /login with a message', async () => {
    const res = await h.fetch('/login/second-factor?next=%2Fadmin');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?next=%2Fadmin');
    expect(res.headers.getSetCookie().join('\n')).toContain('cloakroom-flash=sign-in-expired');

    const form = h.loginFormToken();
    const post = await h.fetch('/login/second-factor', {
      cookie: form.cookie,
      headers: sameOrigin(),
      form: { _csrf: form.token, code: codeAt(carolKey), next: '/account' },
    });
    expect(post.status).toBe(303);
    expect(post.headers.get('location')).toBe('/login?next=%2Faccount');
    expect(sessionCookieOf(post)).toBeNull();
  });

  test('a forged login token is refused (403) and uses nothing up: the right form still signs in', async () => {
    const jar = await passwordStep('carol');
    const forged = await h.fetch('/login/second-factor', {
      jar,
      headers: sameOrigin(),
      form: { _csrf: 'forged.token', code: codeAt(carolKey), next: '/account' },
    });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('The form expired.');
    expect(sessionCookieOf(forged)).toBeNull();

    const ok = await h.fetch('/login/second-factor', {
      jar,
      headers: sameOrigin(),
      form: { _csrf: await stepToken(jar), code: codeAt(carolKey), next: '/account' },
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/account');
    expect(sessionCookieOf(ok)).not.toBeNull();
    clock.advance(30_000);
  });

  test('a cross-site post is refused before any code is looked at', async () => {
    const jar = await passwordStep('carol');
    const token = await stepToken(jar);
    for (const headers of [
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ]) {
      const res = await h.fetch('/login/second-factor', {
        jar,
        headers,
        form: { _csrf: token, code: codeAt(carolKey), next: '/account' },
      });
      expect(res.status).toBe(403);
      expect(sessionCookieOf(res)).toBeNull();
    }
    expect(h.logs.some((l) => l.event === 'csrf.refused' && l.route === 'login-second-factor')).toBe(true);
  });

  test('a wrong code: 401 and the same form; a recovery code signs in once and says how many are left', async () => {
    const jar = await passwordStep('carol');
    const wrong = await h.fetch('/login/second-factor', {
      jar,
      headers: sameOrigin(),
      form: { _csrf: await stepToken(jar), code: '000000', next: '/account' },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That code is wrong or was already used.');

    const code = recoveryCodes[0]!;
    const ok = await h.fetch('/login/second-factor', {
      jar,
      headers: sameOrigin(),
      form: { _csrf: await stepToken(jar), recoveryCode: code.toUpperCase(), next: '/account' },
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.getSetCookie().join('\n')).toContain('cloakroom-flash=recovery-code-used.9');

    const again = await passwordStep('carol');
    const used = await h.fetch('/login/second-factor', {
      jar: again,
      headers: sameOrigin(),
      form: { _csrf: await stepToken(again), recoveryCode: code, next: '/account' },
    });
    expect(used.status).toBe(401);
    expect(await used.text()).toContain('That recovery code is wrong or was already used.');
  });

  test('Cancel ends the pending sign-in: the step then sends the browser back to /login', async () => {
    const jar = await passwordStep('carol');
    const cancel = await h.fetch('/login/second-factor/cancel', {
      jar,
      headers: sameOrigin(),
      form: { _csrf: await stepToken(jar) },
    });
    expect(cancel.status).toBe(303);
    expect(cancel.headers.get('location')).toBe('/login');
    expect((await h.fetch('/login/second-factor', { jar })).status).toBe(303);
  });
});

describe('sensitive page forms outside the re-authentication window go through /reauth and back', () => {
  test('password, sign out elsewhere, the second factor, admin changes: 303 /reauth?next=<the page>; after the password, back', async () => {
    const bob = await pageSession('bob');
    const alice = await pageSession('alice', '/admin');
    clock.advance(10 * 60_000 + 1);
    const cases: Array<[CookieJar, string, string, string]> = [
      [bob.jar, bob.csrf, '/account/password', '/account'],
      [bob.jar, bob.csrf, '/account/sessions/revoke-others', '/account'],
      [bob.jar, bob.csrf, '/account/second-factor/totp', '/account/second-factor'],
      [alice.jar, alice.csrf, `/admin/users/${h.ids.bob}/lock`, '/admin'],
      [alice.jar, alice.csrf, `/admin/users/${h.ids.bob}/recovery-link`, '/admin'],
    ];
    for (const [jar, csrf, path, page] of cases) {
      const res = await h.fetch(path, { jar, headers: sameOrigin(), form: { _csrf: csrf } });
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location'), path).toBe(`/reauth?next=${encodeURIComponent(page)}`);
    }
    expect((await h.deps.users.getById(h.ids.bob))?.locked).toBe(false);

    const wrong = await h.fetch('/reauth', {
      jar: bob.jar,
      headers: sameOrigin(),
      form: { _csrf: bob.csrf, password: 'not it', next: '/account' },
    });
    expect(wrong.status).toBe(401);
    const reauth = await h.fetch('/reauth', {
      jar: bob.jar,
      headers: sameOrigin(),
      form: { _csrf: bob.csrf, password: PASSWORD, next: '/account' },
    });
    expect(reauth.status).toBe(303);
    expect(reauth.headers.get('location')).toBe('/account');
    // A new ticket and CSRF secret: the page's new token.
    const csrf = csrfOf(await (await h.fetch('/account', { jar: bob.jar })).text());
    const done = await h.fetch('/account/sessions/revoke-others', {
      jar: bob.jar,
      headers: sameOrigin(),
      form: { _csrf: csrf },
    });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/account');
  });

  test('/reauth goes back to same-origin paths only', async () => {
    const bob = await pageSession('bob');
    const res = await h.fetch('/reauth', {
      jar: bob.jar,
      headers: sameOrigin(),
      form: { _csrf: bob.csrf, password: PASSWORD, next: '//evil.example/x' },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/account');
  });
});

describe('/admin: Reset 2FA', () => {
  test('removes the factor and ends the user’s sessions; the password alone signs in again', async () => {
    const carol = (await h.deps.users.getByUsername('carol'))!;
    const jar = await passwordStep('carol');
    clock.advance(30_000);
    const signedIn = await h.fetch('/login/second-factor', {
      jar,
      headers: sameOrigin(),
      form: { _csrf: await stepToken(jar), code: codeAt(carolKey), next: '/account' },
    });
    expect(signedIn.status).toBe(303);
    expect((await h.fetch('/account', { jar })).status).toBe(200);

    const alice = await pageSession('alice', '/admin');
    const row = /<tr data-user="carol">[\s\S]*?<\/tr>/.exec(
      await (await h.fetch('/admin', { jar: alice.jar })).text(),
    )?.[0];
    expect(row).toContain('Reset 2FA');
    const reset = await h.fetch(`/admin/users/${carol.id}/second-factor/reset`, {
      jar: alice.jar,
      headers: sameOrigin(),
      form: { _csrf: alice.csrf },
    });
    expect(reset.status).toBe(303);
    expect(reset.headers.get('location')).toBe('/admin');
    expect(reset.headers.getSetCookie().join('\n')).toContain('cloakroom-flash=second-factor-reset');
    expect((await h.fetch('/account', { jar })).status).toBe(303);
    expect((await h.login('carol')).user.secondFactor).toBe(false);
  });
});

describe('/login/second-factor: throttled', () => {
  test('after too many wrong codes the step answers 429 with the minutes to wait and Retry-After', async () => {
    await h.createUser('dave');
    const { key } = await enrol('dave');
    const jar = await passwordStep('dave');
    let res: Response | null = null;
    for (let i = 0; i < 20; i++) {
      res = await h.fetch('/login/second-factor', {
        jar,
        headers: sameOrigin(),
        form: { _csrf: await stepToken(jar), code: '000000', next: '/account' },
      });
      if (res.status !== 401) break;
    }
    expect(res?.status).toBe(429);
    expect(Number(res?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await res?.text()).toMatch(/Too many wrong codes\. Try again in \d+ minutes?\./);
    // The right code does not get through either while it lasts.
    const right = await h.fetch('/login/second-factor', {
      jar,
      headers: sameOrigin(),
      form: { _csrf: await stepToken(jar), code: codeAt(key), next: '/account' },
    });
    expect(right.status).toBe(429);
    expect(sessionCookieOf(right)).toBeNull();
  });
});

describe('/account/second-factor: new recovery codes, turning it off', () => {
  test('new codes are shown once and replace the old; turning off needs a right code', async () => {
    await h.createUser('erin');
    const { key, codes } = await enrol('erin');
    // erin's own browser, signed in through both steps.
    const jar = await passwordStep('erin');
    await h.fetch('/login/second-factor', {
      jar,
      headers: sameOrigin(),
      form: { _csrf: await stepToken(jar), code: codeAt(key), next: '/account' },
    });
    const page = await h.fetch('/account/second-factor', { jar });
    expect(page.status).toBe(200);
    const csrf = csrfOf(await page.text());

    const renewed = await h.fetch('/account/second-factor/recovery-codes', {
      jar,
      headers: sameOrigin(),
      form: { _csrf: csrf },
    });
    expect(renewed.status).toBe(200);
    const html = await renewed.text();
    expect(html).toContain('Your earlier codes no longer work.');
    const fresh = [...html.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((m) => m[1]!);
    expect(fresh).toHaveLength(10);
    expect(fresh.some((code) => codes.includes(code))).toBe(false);

    const off = (form: Record<string, string>) =>
      h.fetch('/account/second-factor/disable', {
        jar,
        headers: sameOrigin(),
        form: { _csrf: csrf, ...form },
      });
    const wrong = await off({ code: '000000' });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('Status: <span class="tag here">on</span>');
    expect((await off({ recoveryCode: codes[0]! })).status).toBe(401);
    const done = await off({ recoveryCode: fresh[0]! });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/account/second-factor');
    expect(done.headers.getSetCookie().join('\n')).toContain('cloakroom-flash=second-factor-off');
    expect((await h.login('erin')).user.secondFactor).toBe(false);
  });
});
