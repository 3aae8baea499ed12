// Smoke test of examples/express-forms: started as its README says, driven over HTTP like a
// browser without JavaScript (forms, redirects, cookies).
import { createServer } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CookieJar, inputValue, type RunningProcess, runExampleToExit, startExample } from './support.js';

let app: RunningProcess & { url: string };

beforeAll(async () => {
  app = await startExample('examples/express-forms/server.ts');
}, 40_000);

afterAll(async () => {
  await app?.stop();
});

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', origin: app.url },
  body: new URLSearchParams(fields).toString(),
});

test('sign in with the login-CSRF form, add a note with _csrf, sign out', async () => {
  const jar = new CookieJar();
  // Signed out: the notes page sends the browser to the sign-in form.
  const gate = await jar.fetch(`${app.url}/notes`);
  expect(gate.status).toBe(303);
  expect(gate.headers.get('location')).toBe('/login');

  const loginPage = await jar.fetch(`${app.url}/login`);
  expect(loginPage.status).toBe(200);
  const loginToken = inputValue(await loginPage.text(), '_csrf');
  expect(jar.cookies.size).toBe(1); // the signed nonce of the login form, no session yet

  // Without the form's token, or from another site: refused.
  const noToken = await jar.fetch(
    `${app.url}/login`,
    form({ username: 'demo', password: 'harbour-lantern-42' }),
  );
  expect(noToken.status).toBe(403);
  const foreign = await jar.fetch(`${app.url}/login`, {
    ...form({ username: 'demo', password: 'harbour-lantern-42', _csrf: loginToken }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.test' },
  });
  expect(foreign.status).toBe(403);

  const fresh = inputValue(await (await jar.fetch(`${app.url}/login`)).text(), '_csrf');
  const wrong = await jar.fetch(
    `${app.url}/login`,
    form({ username: 'demo', password: 'nope-nope', _csrf: fresh }),
  );
  expect(wrong.status).toBe(401);

  const token = inputValue(await (await jar.fetch(`${app.url}/login`)).text(), '_csrf');
  const signedIn = await jar.fetch(
    `${app.url}/login`,
    form({ username: 'demo', password: 'harbour-lantern-42', _csrf: token }),
  );
  expect(signedIn.status).toBe(303);
  expect(signedIn.headers.get('location')).toBe('/notes');
  expect(signedIn.headers.getSetCookie().join('\n')).toMatch(/^cloakroom=[^;]+;.*HttpOnly/im);

  const notes = await jar.fetch(`${app.url}/notes`);
  expect(notes.status).toBe(200);
  const html = await notes.text();
  expect(html).toContain('Signed in as <strong>demo</strong>');
  const csrf = inputValue(html, '_csrf');

  // A note without the token is refused and not saved; with it, saved (and escaped on output).
  const forged = await jar.fetch(`${app.url}/notes`, form({ text: 'forged' }));
  expect(forged.status).toBe(403);
  const added = await jar.fetch(`${app.url}/notes`, form({ text: '<b>buy milk</b>', _csrf: csrf }));
  expect(added.status).toBe(303);
  const after = await (await jar.fetch(`${app.url}/notes`)).text();
  expect(after).toContain('&lt;b&gt;buy milk&lt;/b&gt;');
  expect(after).toContain('Note saved.');
  expect(after).not.toContain('forged');
  // The flash message is shown once.
  expect(await (await jar.fetch(`${app.url}/notes`)).text()).not.toContain('Note saved.');

  // A valid token from a cross-site form is refused by the origin gate.
  const crossSite = await jar.fetch(`${app.url}/notes`, {
    ...form({ text: 'cross', _csrf: csrf }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' },
  });
  expect(crossSite.status).toBe(403);

  const sessionCookie = jar.header();
  const out = await jar.fetch(`${app.url}/logout`, form({ _csrf: csrf }));
  expect(out.status).toBe(303);
  expect(out.headers.get('location')).toBe('/login');
  // The old cookie is dead server-side, not just cleared in this jar.
  const replay = await fetch(`${app.url}/notes`, { headers: { cookie: sessionCookie }, redirect: 'manual' });
  expect(replay.status).toBe(303);
  expect(replay.headers.get('location')).toBe('/login');
});

test('a port that is taken: a clear message on stderr and a non-zero exit, not a silent 0', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const address = blocker.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  try {
    const { code, output } = await runExampleToExit('examples/express-forms/server.ts', {
      PORT: String(port),
      HOST: '127.0.0.1',
    });
    expect(code, output).toBe(1);
    expect(output).toContain(`express-forms example: cannot listen on 127.0.0.1:${port}`);
    expect(output).toMatch(/EADDRINUSE/);
    expect(output).not.toMatch(/listening on/);
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
}, 40_000);
