import { expect } from 'vitest';
import type { ApiClient, Browser } from './second-factor-api.js';
import { CookieJar, type HarnessInit, jsonOf } from './server.js';
import type {
  AuthenticateOptions,
  CreationOptionsJSON,
  RegisterOptions,
  RequestOptionsJSON,
  SoftAuthenticator,
} from './soft-authenticator.js';

/*
 * Passkeys over the JSON API, as a browser's script drives them: fetch the options, let the
 * authenticator (test/support/soft-authenticator.ts) answer, send its JSON back. The server's
 * relying party in these tests is PUBLIC_URL; requests go to the harness's own address without
 * an Origin header (as curl does), so the login-CSRF origin gate lets them through and only the
 * origin inside `clientDataJSON` is the WebAuthn one.
 */

/** The relying party the passkey tests configure (`CLOAKROOM_PUBLIC_URL`). */
export const PUBLIC_URL = 'http://localhost:4000';
/** The environment that turns passkeys on for a harness or a server process. */
export const PASSKEY_ENV = { CLOAKROOM_PUBLIC_URL: PUBLIC_URL, CLOAKROOM_PASSKEYS: 'on' } as const;

/** A passkey as `GET /api/account/passkeys` lists it. */
export interface PasskeyJson {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  backedUp: boolean;
  deviceType: 'singleDevice' | 'multiDevice';
}

/** POST with a signed-in browser's jar and CSRF token. */
export function asBrowser(browser: Browser, init: HarnessInit = {}): HarnessInit {
  return { method: 'POST', ...init, jar: browser.jar, csrf: browser.csrf };
}

/** `POST /api/account/passkeys/options`: the creation options (200 expected). */
export async function registrationOptions(client: ApiClient, browser: Browser): Promise<CreationOptionsJSON> {
  const res = await client.fetch('/api/account/passkeys/options', asBrowser(browser));
  const body = await jsonOf<{ options: CreationOptionsJSON }>(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.options;
}

/** The whole registration; returns the finish's answer (201 expected). */
export async function registerPasskey(
  client: ApiClient,
  browser: Browser,
  authenticator: SoftAuthenticator,
  options: { name?: string; register?: RegisterOptions } = {},
): Promise<{ passkey: PasskeyJson; recoveryCodes: string[] | null }> {
  const creation = await registrationOptions(client, browser);
  const response = authenticator.register(creation, options.register);
  const res = await client.fetch(
    '/api/account/passkeys',
    asBrowser(browser, { json: { response, ...(options.name === undefined ? {} : { name: options.name }) } }),
  );
  const body = await jsonOf<{ passkey: PasskeyJson; recoveryCodes: string[] | null }>(res);
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body;
}

/** `GET /api/account/passkeys`. */
export async function listed(client: ApiClient, browser: Browser): Promise<PasskeyJson[]> {
  const res = await client.fetch('/api/account/passkeys', { jar: browser.jar });
  const body = await jsonOf<{ passkeys: PasskeyJson[] }>(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.passkeys;
}

/** `POST /api/login/passkey/options` in a fresh (or given) jar: the request options and the jar with the ceremony cookie. */
export async function signInOptions(
  client: ApiClient,
  jar = new CookieJar(),
): Promise<{ jar: CookieJar; options: RequestOptionsJSON }> {
  const res = await client.fetch('/api/login/passkey/options', { method: 'POST', jar });
  const body = await jsonOf<{ options: RequestOptionsJSON }>(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return { jar, options: body.options };
}

/** A whole passwordless sign-in: the finish's answer, whatever it is. */
export async function passkeySignIn(
  client: ApiClient,
  authenticator: SoftAuthenticator,
  options: { authenticate?: AuthenticateOptions; remember?: boolean } = {},
): Promise<{ jar: CookieJar; response: Response; body: Record<string, unknown> }> {
  const begun = await signInOptions(client);
  const credential = authenticator.authenticate(begun.options, options.authenticate);
  const response = await client.fetch('/api/login/passkey', {
    json: { response: credential, ...(options.remember === undefined ? {} : { remember: options.remember }) },
    jar: begun.jar,
  });
  return { jar: begun.jar, response, body: await jsonOf(response) };
}

/** A passwordless sign-in that must succeed: the signed-in browser. */
export async function signInWithPasskey(
  client: ApiClient,
  authenticator: SoftAuthenticator,
): Promise<Browser> {
  const { jar, response, body } = await passkeySignIn(client, authenticator);
  expect(response.status, JSON.stringify(body)).toBe(200);
  return { jar, csrf: body.csrfToken as string };
}

/** `POST /api/login/second-factor/passkey/options` with the jar holding the pending cookie. */
export async function secondFactorOptions(client: ApiClient, jar: CookieJar): Promise<RequestOptionsJSON> {
  const res = await client.fetch('/api/login/second-factor/passkey/options', { method: 'POST', jar });
  const body = await jsonOf<{ options: RequestOptionsJSON }>(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.options;
}

/** `POST /api/reauth/passkey/options` for a signed-in browser. */
export async function reauthOptions(client: ApiClient, browser: Browser): Promise<RequestOptionsJSON> {
  const res = await client.fetch('/api/reauth/passkey/options', asBrowser(browser));
  const body = await jsonOf<{ options: RequestOptionsJSON }>(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.options;
}

/** The ceremony cookie of a jar (`cloakroom-passkey=…`), or `undefined`. */
export function ceremonyCookie(jar: CookieJar): string | undefined {
  for (const [name, value] of jar.cookies)
    if (/^(__Host-)?cloakroom-passkey$/.test(name)) return `${name}=${value}`;
  return undefined;
}

/**
 * An {@link ApiClient} for a server at `url` (a spawned process): the harness's `fetch` over real
 * HTTP — jar, CSRF header, JSON or form body, redirects not followed.
 */
export function httpClient(url: string): ApiClient {
  return {
    async fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      const cookie = [init.cookie, init.jar?.header()].filter(Boolean).join('; ');
      if (cookie) headers.set('cookie', cookie);
      if (init.csrf !== undefined) headers.set('x-csrf-token', init.csrf);
      let body = init.body;
      if (init.json !== undefined) {
        body = JSON.stringify(init.json);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      } else if (init.form !== undefined) {
        body = typeof init.form === 'string' ? init.form : new URLSearchParams(init.form).toString();
        if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
      }
      const response = await fetch(`${url}${path}`, {
        method: init.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        redirect: 'manual',
        ...(body === undefined ? {} : { body }),
      });
      init.jar?.absorb(response);
      return response;
    },
  };
}
