import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { issueRecoveryLink } from '../../packages/cloakroom/src/auth/index.js';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { CookieJar, type ServerHarness, startHarness } from '../support/server.js';

// /recover as HTTP: a recovery link's token is in a URL for one request only (then in a cookie
// for /recover alone, so no page URL and no Referer holds it); the link works once, for an hour,
// and only from our own form. The same in a real browser: test/e2e/second-factor.test.ts.

const HOUR = 60 * 60_000;
const clock = manualClock(Date.UTC(2026, 10, 24, 9, 0));
let h: ServerHarness;
beforeAll(async () => {
  h = await startHarness({ clock });
});
afterAll(() => h?.close());

const sameOrigin = () => ({ origin: h.origin, 'sec-fetch-site': 'same-origin' });
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
const linkOf = (token: string) => `/recover?token=${encodeURIComponent(token)}`;
const recoverCookieLine = (res: Response) =>
  res.headers.getSetCookie().find((line) => /^(__Secure-)?cloakroom-recover=/.test(line));

async function link(): Promise<string> {
  const issued = await issueRecoveryLink(h.deps.account, h.ids.bob, {}, h.ids.alice);
  if (!issued.ok) throw new Error(issued.message);
  return issued.token;
}

/** Opens the link as a browser does: the first request, then the redirect's. */
async function open(token: string, jar = new CookieJar()): Promise<{ jar: CookieJar; page: Response }> {
  const first = await h.fetch(linkOf(token), { jar });
  expect(first.status).toBe(303);
  expect(first.headers.get('location')).toBe('/recover');
  return { jar, page: await h.fetch('/recover', { jar }) };
}

async function setPassword(jar: CookieJar, password: string, form: Record<string, string> = {}) {
  const csrf = csrfOf(await (await h.fetch('/recover', { jar })).text());
  return h.fetch('/recover', {
    jar,
    headers: sameOrigin(),
    form: { _csrf: csrf, newPassword: password, confirmPassword: password, ...form },
  });
}

describe('the token leaves the URL after the first request', () => {
  test('/recover?token=… answers 303 to /recover (no query) and sets the token in a cookie for /recover only', async () => {
    const token = await link();
    const res = await h.fetch(linkOf(token));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/recover');
    const line = recoverCookieLine(res)!;
    expect(line.split(';')[0]).toBe(`cloakroom-recover=${token}`);
    const attributes = line.split(';').map((a) => a.trim().toLowerCase());
    expect(attributes).toEqual(
      expect.arrayContaining(['path=/recover', 'httponly', 'samesite=lax', `max-age=${HOUR / 1000}`]),
    );
    // Plain HTTP: not Secure (a browser would drop a Secure cookie set over http://localhost).
    expect(attributes).not.toContain('secure');
    expect(h.logText()).not.toContain(token);
  });

  test('the cookie lives no longer than the link: 20 minutes after it was issued, 40 minutes', async () => {
    const token = await link();
    clock.advance(20 * 60_000);
    const line = recoverCookieLine(await h.fetch(linkOf(token)))!;
    expect(line).toMatch(/;\s*Max-Age=2400(;|$)/);
  });

  test('the page after the redirect shows whose link it is; neither it nor its stylesheet URL nor its form holds the token', async () => {
    const token = await link();
    const { page } = await open(token);
    expect(page.status).toBe(200);
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
    const html = await page.text();
    expect(html).toContain('<strong>bob</strong>');
    // The page is /recover: what a browser sends as Referer with the stylesheet and the post.
    expect(html).toContain('<link rel="stylesheet" href="/assets/cloakroom.css"');
    expect(html).toContain('action="/recover"');
    expect(html).not.toContain('name="token"');
    expect(html).not.toContain(token);
    // The page loads nothing from elsewhere and links nowhere else.
    expect(html).not.toMatch(/(href|src|action)="(https?:)?\/\//);
  });

  test('over HTTPS (behind a trusted proxy) the cookie is Secure and named __Secure-cloakroom-recover', async () => {
    const proxied = await startHarness({ clock, env: { CLOAKROOM_TRUST_PROXY: 'true' } });
    try {
      const issued = await issueRecoveryLink(proxied.deps.account, proxied.ids.bob, {}, proxied.ids.alice);
      if (!issued.ok) throw new Error(issued.message);
      const https = { 'x-forwarded-proto': 'https' };
      const res = await proxied.fetch(linkOf(issued.token), { headers: https });
      expect(res.status).toBe(303);
      const line = recoverCookieLine(res)!;
      expect(line.split(';')[0]).toBe(`__Secure-cloakroom-recover=${issued.token}`);
      expect(line).toMatch(/;\s*Secure(;|$)/);
      const page = await proxied.fetch('/recover', {
        headers: https,
        cookie: line.split(';')[0]!,
      });
      expect(page.status).toBe(200);
      // The plain name is not read over HTTPS.
      const plain = await proxied.fetch('/recover', {
        headers: https,
        cookie: `cloakroom-recover=${issued.token}`,
      });
      expect(plain.status).toBe(404);
    } finally {
      await proxied.close();
    }
  });
});

describe('a recovery link works once, for an hour, from our own form', () => {
  test('the post sets the password once and clears the cookie; a second post with the same cookie is 404', async () => {
    const token = await link();
    const { jar } = await open(token);
    const kept = new CookieJar();
    for (const [name, value] of jar.cookies) kept.cookies.set(name, value);

    const set = await setPassword(jar, 'a whole new passphrase');
    expect(set.status).toBe(303);
    expect(set.headers.get('location')).toBe('/login');
    expect(set.headers.getSetCookie().join('\n')).toContain('cloakroom-flash=password-set');
    expect(recoverCookieLine(set)).toMatch(/^cloakroom-recover=;.*Path=\/recover.*Max-Age=0/);
    expect(jar.cookies.has('cloakroom-recover')).toBe(false);
    await h.login('bob', 'a whole new passphrase');

    // The cookie the browser might still hold opens nothing: the page is the 404, and clears it.
    const page = await h.fetch('/recover', { jar: kept });
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('Ask an administrator for a new link.');
    expect(recoverCookieLine(page)).toMatch(/Max-Age=0/);
  });

  test('a second post of the form, as the browser holds it, is 404 and sets nothing', async () => {
    const token = await link();
    const { jar, page } = await open(token);
    const csrf = csrfOf(await page.text());
    // Sent as the browser held it before the first answer, whatever that answer cleared.
    jar.cookies.delete('cloakroom-recover');
    const post = (password: string) =>
      h.fetch('/recover', {
        jar,
        cookie: `cloakroom-recover=${token}`,
        headers: sameOrigin(),
        form: { _csrf: csrf, newPassword: password, confirmPassword: password },
      });
    expect((await post('the first passphrase')).status).toBe(303);
    const second = await post('the second passphrase');
    expect(second.status).toBe(404);
    await h.login('bob', 'the first passphrase');
  });

  test('the token in a form field is not read: without the cookie the post is 404', async () => {
    const token = await link();
    const { jar, page } = await open(token);
    const csrf = csrfOf(await page.text());
    jar.cookies.delete('cloakroom-recover');
    const res = await h.fetch('/recover', {
      jar,
      headers: sameOrigin(),
      form: { _csrf: csrf, token, newPassword: 'field passphrase', confirmPassword: 'field passphrase' },
    });
    expect(res.status).toBe(404);
    // The link still works from its cookie.
    expect((await open(token)).page.status).toBe(200);
  });

  test('a used link, an expired link and a made-up one: 303 to /recover, which is the 404 saying to ask an admin', async () => {
    const token = await link();
    expect((await setPassword((await open(token)).jar, 'yet another passphrase')).status).toBe(303);
    const used = await open(token);
    expect(used.page.status).toBe(404);
    expect(await used.page.text()).toContain('Ask an administrator for a new link.');

    const late = await link();
    clock.advance(HOUR + 1);
    expect((await open(late)).page.status).toBe(404);
    // A cookie kept past the link's hour opens nothing either.
    expect((await h.fetch('/recover', { cookie: `cloakroom-recover=${late}` })).status).toBe(404);
    expect((await open('made-up')).page.status).toBe(404);
    expect((await h.fetch('/recover')).status).toBe(404);
    // A dead link's first request sets no cookie (it clears one).
    expect(recoverCookieLine(await h.fetch(linkOf(late)))).toMatch(/^cloakroom-recover=;.*Max-Age=0/);
    expect(h.logText()).not.toContain(late);
  });

  test('a cross-site post or a forged form token sets nothing, and the link still works', async () => {
    const token = await link();
    const { jar, page } = await open(token);
    const csrf = csrfOf(await page.text());
    const form = { newPassword: 'forged passphrase', confirmPassword: 'forged passphrase' };
    const cross = await h.fetch('/recover', {
      jar,
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      form: { ...form, _csrf: csrf },
    });
    expect(cross.status).toBe(403);
    const forged = await h.fetch('/recover', { jar, headers: sameOrigin(), form: { ...form, _csrf: 'x.y' } });
    expect(forged.status).toBe(403);
    expect((await h.fetch('/recover', { jar })).status).toBe(200);
  });
});
