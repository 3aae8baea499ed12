import { Secret, TOTP } from 'otpauth';
import { expect } from 'vitest';
import { CookieJar, type HarnessInit, jsonOf, PASSWORD } from './server.js';

/*
 * The second factor over the JSON API, as a client sees it: codes are computed here with
 * `otpauth` from the key the enrolment answer returned (never with the server's own helpers), so
 * a server that computed codes wrongly could not agree with itself and pass.
 */

/** What the API tests need of a server: an in-process harness or a spawned process alike. */
export interface ApiClient {
  fetch(path: string, init?: HarnessInit): Promise<Response>;
}

/** The RFC 6238 code of `secret` (base32) at `timestamp`: SHA-1, 6 digits, 30 s, as apps do. */
export function totpCode(secret: string, timestamp: number): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    timestamp,
  });
}

/** A signed-in browser: its cookie jar and current CSRF token. */
export interface Browser {
  jar: CookieJar;
  csrf: string;
}

/** The pending cookie of a jar (`cloakroom-pending=…`), or `undefined`. */
export function pendingCookie(jar: CookieJar): string | undefined {
  for (const [name, value] of jar.cookies)
    if (/^(__Host-)?cloakroom-pending$/.test(name)) return `${name}=${value}`;
  return undefined;
}

/** The session cookie of a jar (`cloakroom=…`), or `undefined`. */
export function sessionCookie(jar: CookieJar): string | undefined {
  for (const [name, value] of jar.cookies) if (/^(__Host-)?cloakroom$/.test(name)) return `${name}=${value}`;
  return undefined;
}

/** Password step: a browser (jar) that signed in, or one holding only the pending cookie (401). */
export async function passwordStep(
  client: ApiClient,
  username: string,
  password = PASSWORD,
): Promise<{ jar: CookieJar; response: Response; body: Record<string, unknown> }> {
  const jar = new CookieJar();
  const response = await client.fetch('/api/login', { json: { username, password }, jar });
  return { jar, response, body: await jsonOf(response) };
}

/** Signs in without a second factor; throws unless 200. */
export async function signInPassword(
  client: ApiClient,
  username: string,
  password = PASSWORD,
): Promise<Browser> {
  const { jar, response, body } = await passwordStep(client, username, password);
  expect(response.status, JSON.stringify(body)).toBe(200);
  return { jar, csrf: body.csrfToken as string };
}

/** Both steps; `proof` is `{code}` or `{recoveryCode}`. Throws unless the second step says 200. */
export async function signInTwoSteps(
  client: ApiClient,
  username: string,
  proof: { code: string } | { recoveryCode: string },
  password = PASSWORD,
): Promise<Browser & { body: Record<string, unknown> }> {
  const first = await passwordStep(client, username, password);
  expect(first.response.status, JSON.stringify(first.body)).toBe(401);
  expect(first.body.error).toBe('second_factor_required');
  const response = await client.fetch('/api/login/second-factor', { json: proof, jar: first.jar });
  const body = await jsonOf(response);
  expect(response.status, JSON.stringify(body)).toBe(200);
  return { jar: first.jar, csrf: body.csrfToken as string, body };
}

/** Enrols `browser`'s user through the API: the key, the ten recovery codes; the CSRF token is renewed. */
export async function enrol(
  client: ApiClient,
  browser: Browser,
  now: () => number,
): Promise<{ secret: string; uri: string; qrSvg: string; recoveryCodes: string[] }> {
  const begun = await client.fetch('/api/account/second-factor/totp', {
    method: 'POST',
    jar: browser.jar,
    csrf: browser.csrf,
  });
  const started = await jsonOf<{ secret: string; uri: string; qrSvg: string }>(begun);
  expect(begun.status, JSON.stringify(started)).toBe(200);
  const confirmed = await client.fetch('/api/account/second-factor/totp/confirm', {
    json: { code: totpCode(started.secret, now()) },
    jar: browser.jar,
    csrf: browser.csrf,
  });
  const done = await jsonOf<{ recoveryCodes: string[]; csrfToken: string }>(confirmed);
  expect(confirmed.status, JSON.stringify(done)).toBe(200);
  browser.csrf = done.csrfToken;
  return { ...started, recoveryCodes: done.recoveryCodes };
}
