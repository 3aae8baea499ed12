import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Login, PASSWORD, type ServerHarness, startHarness } from '../support/server.js';

// What the pages offer a person, as HTML: where the focus goes, what a refused form keeps, which
// buttons a row has, and a theme that is CSS only. The same in a real browser:
// test/e2e/sign-in.test.ts, admin.test.ts, appearance.test.ts.

let h: ServerHarness;
let admin: Login;
beforeAll(async () => {
  h = await startHarness();
  admin = await h.login('alice');
});
afterAll(() => h?.close());

/** The `<input>` tag with this id. */
function inputTag(html: string, id: string): string {
  const tag = new RegExp(`<input[^>]*\\bid="${id}"[^>]*>`).exec(html)?.[0];
  if (!tag) throw new Error(`no <input id="${id}">`);
  return tag;
}

/** The admin table's row of `username`. */
function rowOf(html: string, username: string): string {
  const row = new RegExp(`<tr data-user="${username}">[\\s\\S]*?</tr>`).exec(html)?.[0];
  if (!row) throw new Error(`no row for ${username}`);
  return row;
}

const sameOrigin = () => ({ origin: h.origin, 'sec-fetch-site': 'same-origin' });

async function adminPage(): Promise<{ html: string; csrf: string }> {
  const res = await h.fetch('/admin', { cookie: admin.cookie });
  expect(res.status).toBe(200);
  const html = await res.text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!csrf) throw new Error('the admin page has no _csrf field');
  return { html, csrf };
}

describe('sign-in page: where the focus goes', () => {
  test('a fresh form starts in the username field', async () => {
    const html = await (await h.fetch('/login')).text();
    expect(inputTag(html, 'username')).toContain('autofocus');
    expect(inputTag(html, 'password')).not.toContain('autofocus');
  });

  test('after a wrong password the form comes back with the username kept and the focus on the password', async () => {
    const { cookie, token } = h.loginFormToken();
    const res = await h.fetch('/login', {
      cookie,
      headers: sameOrigin(),
      form: { username: 'bob', password: 'not the password', _csrf: token },
    });
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain('Wrong username or password.');
    expect(inputTag(html, 'username')).toContain('value="bob"');
    expect(inputTag(html, 'username')).not.toContain('autofocus');
    expect(inputTag(html, 'password')).toContain('autofocus');
    expect(inputTag(html, 'password')).not.toContain('value=');
  });

  test('an expired form keeps the username too, and focuses the password', async () => {
    const res = await h.fetch('/login', {
      headers: sameOrigin(),
      form: { username: 'bob', password: PASSWORD, _csrf: 'expired' },
    });
    expect(res.status).toBe(403);
    const html = await res.text();
    expect(html).toContain('The sign-in form expired.');
    expect(inputTag(html, 'username')).toContain('value="bob"');
    expect(inputTag(html, 'password')).toContain('autofocus');
  });
});

describe('admin page', () => {
  test("the last unlocked admin's own row is marked and has no Lock button; every other row has one", async () => {
    const { html } = await adminPage();
    const own = rowOf(html, 'alice');
    expect(own).toContain('<span class="tag here">you</span>');
    expect(own).not.toContain(`/admin/users/${h.ids.alice}/lock"`);
    expect(own).toContain(`/admin/users/${h.ids.alice}/revoke-sessions"`);
    expect(rowOf(html, 'bob')).toContain(`/admin/users/${h.ids.bob}/lock"`);
    expect(rowOf(html, 'bob')).not.toContain('>you<');
  });

  test('with a second unlocked admin, the own row has its Lock button (the rule is "one admin remains")', async () => {
    await h.deps.users.update(h.ids.bob, { roles: ['admin'] }, Date.now());
    try {
      const { html } = await adminPage();
      expect(rowOf(html, 'alice')).toContain(`/admin/users/${h.ids.alice}/lock"`);
      expect(rowOf(html, 'bob')).toContain(`/admin/users/${h.ids.bob}/lock"`);
    } finally {
      await h.deps.users.update(h.ids.bob, { roles: [] }, Date.now());
    }
  });

  test('a locked admin does not count: the other, last unlocked admin has no Lock button, the locked one has Unlock', async () => {
    await h.deps.users.update(h.ids.bob, { roles: ['admin'], locked: true }, Date.now());
    try {
      const { html } = await adminPage();
      expect(rowOf(html, 'alice')).not.toContain(`/admin/users/${h.ids.alice}/lock"`);
      expect(rowOf(html, 'bob')).toContain(`/admin/users/${h.ids.bob}/unlock"`);
    } finally {
      await h.deps.users.update(h.ids.bob, { roles: [], locked: false }, Date.now());
    }
  });

  test('"username taken" shows the create form again with what was typed (but the password)', async () => {
    const { csrf } = await adminPage();
    const before = await h.deps.users.count();
    const res = await h.fetch('/admin/users', {
      cookie: admin.cookie,
      headers: sameOrigin(),
      form: {
        _csrf: csrf,
        username: 'BOB',
        displayName: 'Bob & the Second',
        password: 'a perfectly fine passphrase',
        roles: 'ops, support',
      },
    });
    expect(res.status).toBe(409);
    const html = await res.text();
    expect(html).toContain('That username is taken.');
    expect(inputTag(html, 'new-username')).toContain('value="BOB"');
    expect(inputTag(html, 'new-displayName')).toContain('value="Bob &amp; the Second"');
    expect(inputTag(html, 'new-roles')).toContain('value="ops, support"');
    expect(inputTag(html, 'new-password')).not.toContain('value=');
    expect(html).not.toContain('a perfectly fine passphrase');
    expect(await h.deps.users.count()).toBe(before);
  });

  test('after a user is created the form is empty again', async () => {
    const { csrf } = await adminPage();
    const res = await h.fetch('/admin/users', {
      cookie: admin.cookie,
      headers: sameOrigin(),
      form: {
        _csrf: csrf,
        username: 'carol',
        displayName: '',
        password: 'a perfectly fine passphrase',
        roles: '',
      },
    });
    expect(res.status).toBe(303);
    const { html } = await adminPage();
    expect(inputTag(html, 'new-username')).toContain('value=""');
  });
});

describe('theme', () => {
  test('the dark theme is in the one stylesheet (prefers-color-scheme), and pages carry no inline style or script', async () => {
    const css = await (await h.fetch('/assets/cloakroom.css')).text();
    const dark = /@media \(prefers-color-scheme: dark\) \{([\s\S]*?)\n\}/.exec(css)?.[1];
    expect(dark).toBeDefined();
    expect(dark).toContain('color-scheme: dark');
    for (const variable of ['--bg', '--card', '--text', '--field', '--field-line', '--ring']) {
      expect(dark, variable).toContain(`${variable}:`);
    }
    // Outside the variables, no colour is written twice: the dark theme reaches every rule.
    const rules = css
      .replace(/:root \{[\s\S]*?\}/g, '')
      .replace(/@media \(prefers-color-scheme: dark\) \{[\s\S]*?\n\}/, '');
    expect(rules).not.toMatch(/#[0-9a-f]{3,6}\b|rgba?\(/i);

    for (const path of ['/login', '/admin', '/account', '/no-such-page']) {
      const res = await h.fetch(path, { cookie: admin.cookie });
      const html = await res.text();
      expect(html, path).not.toMatch(/\sstyle=|<style|<script/i);
      expect(res.headers.get('content-security-policy'), path).toContain("style-src 'self'");
    }
  });
});
