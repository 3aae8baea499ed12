import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import {
  asBrowser,
  httpClient,
  PASSKEY_ENV,
  PUBLIC_URL,
  reauthOptions,
  registerPasskey,
  registrationOptions,
  secondFactorOptions,
  signInOptions,
  signInWithPasskey,
} from '../support/passkeys-api.js';
import { type ApiClient, passwordStep, signInPassword } from '../support/second-factor-api.js';
import { jsonOf, PASSWORD } from '../support/server.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { type PostgresDatabase, REDIS_URL, requirePostgres, requireRedis } from '../support/services.js';
import { createSoftAuthenticator } from '../support/soft-authenticator.js';

// Two `cloakroom serve` processes on one Redis (sessions, counters: the challenges) and one
// PostgreSQL (users: the passkeys), as behind a load balancer: every ceremony begun on one
// instance finishes on the other, and a challenge used on one is refused on the other.
vi.setConfig({ testTimeout: 60_000 });

const redis = await requireRedis();
let db: PostgresDatabase;
let one: ServerProcess;
let two: ServerProcess;
let a: ApiClient;
let b: ApiClient;

beforeAll(async () => {
  db = await requirePostgres();
  const env = {
    ...PASSKEY_ENV,
    REDIS_URL,
    DATABASE_URL: db.url,
    CLOAKROOM_ADMIN_USER: 'root',
    CLOAKROOM_ADMIN_PASSWORD: PASSWORD,
  };
  one = await startServerProcess(env);
  two = await startServerProcess(env);
  a = httpClient(one.url);
  b = httpClient(two.url);
}, 60_000);

afterAll(async () => {
  await one?.stop();
  await two?.stop();
  await db?.drop();
  redis.destroy();
});

let n = 0;
/** A new user, created by the admin on instance one. */
async function newUser(): Promise<string> {
  const name = `multi${n++}`;
  const admin = await signInPassword(a, 'root');
  const res = await a.fetch(
    '/api/admin/users',
    asBrowser(admin, { json: { username: name, password: PASSWORD } }),
  );
  expect(res.status).toBe(201);
  return name;
}

describe('begin on one instance, finish on the other', () => {
  test('registration: options from one, the response to the other; both list it', async () => {
    const name = await newUser();
    const browser = await signInPassword(a, name);
    const authenticator = createSoftAuthenticator(PUBLIC_URL);
    const options = await registrationOptions(a, browser);
    const res = await b.fetch(
      '/api/account/passkeys',
      asBrowser(browser, { json: { response: authenticator.register(options), name: 'Laptop' } }),
    );
    expect(res.status, await res.clone().text()).toBe(201);
    for (const client of [a, b]) {
      const list = await jsonOf<{ passkeys: Array<{ name: string }> }>(
        await client.fetch('/api/account/passkeys', { jar: browser.jar }),
      );
      expect(list.passkeys.map((p) => p.name)).toEqual(['Laptop']);
    }
    // The same response again, on the first instance: the challenge is used up everywhere.
    const replay = await a.fetch(
      '/api/account/passkeys',
      asBrowser(browser, { json: { response: authenticator.register(options) } }),
    );
    expect(replay.status).toBe(400);
    expect(await jsonOf(replay)).toMatchObject({ error: 'ceremony_expired' });
  });

  test('passwordless sign-in: ceremony cookie and challenge from one, the session made on the other works on both', async () => {
    const name = await newUser();
    const authenticator = createSoftAuthenticator(PUBLIC_URL);
    await registerPasskey(a, await signInPassword(a, name), authenticator);
    const { jar, options } = await signInOptions(b);
    const response = authenticator.authenticate(options);
    const res = await a.fetch('/api/login/passkey', { json: { response }, jar });
    expect(res.status, await res.clone().text()).toBe(200);
    for (const client of [a, b]) {
      const verify = await client.fetch('/auth/verify', { jar });
      expect(verify.status).toBe(200);
      expect(verify.headers.get('x-auth-methods')).toBe('hwk');
    }
    const replay = await b.fetch('/api/login/passkey', { json: { response }, cookie: jar.header()! });
    expect(replay.status).toBe(401);
  });

  test('second factor: password step and options on one, the passkey on the other', async () => {
    const name = await newUser();
    const authenticator = createSoftAuthenticator(PUBLIC_URL);
    await registerPasskey(b, await signInPassword(b, name), authenticator);
    const first = await passwordStep(a, name);
    expect(first.response.status).toBe(401);
    const options = await secondFactorOptions(a, first.jar);
    const res = await b.fetch('/api/login/second-factor/passkey', {
      json: { response: authenticator.authenticate(options) },
      jar: first.jar,
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await a.fetch('/auth/verify?mfa=1', { jar: first.jar })).headers.get('x-auth-methods')).toBe(
      'pwd,hwk',
    );
  });

  test('re-authentication: options from one, the assertion to the other', async () => {
    const name = await newUser();
    const authenticator = createSoftAuthenticator(PUBLIC_URL);
    await registerPasskey(a, await signInPassword(a, name), authenticator);
    const browser = await signInWithPasskey(b, authenticator);
    const options = await reauthOptions(b, browser);
    const res = await a.fetch(
      '/api/reauth/passkey',
      asBrowser(browser, { json: { response: authenticator.authenticate(options) } }),
    );
    expect(res.status, await res.clone().text()).toBe(200);
  });

  test('the signature counter is shared: a response replayed with an old counter on the other instance is refused', async () => {
    const name = await newUser();
    const authenticator = createSoftAuthenticator(PUBLIC_URL);
    await registerPasskey(a, await signInPassword(a, name), authenticator);
    await signInWithPasskey(a, authenticator); // counter 1
    await signInWithPasskey(a, authenticator); // counter 2
    const { jar, options } = await signInOptions(b);
    const res = await b.fetch('/api/login/passkey', {
      json: { response: authenticator.authenticate(options, { counter: 2 }) },
      jar,
    });
    expect(res.status).toBe(401);
    expect(await jsonOf(res)).toMatchObject({ error: 'invalid_passkey' });
  });
});
