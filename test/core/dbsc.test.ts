import { describe, expect, test } from 'vitest';
import type { DbscAnswer } from '../../packages/cloakroom/src/core/dbsc.js';
import { REGISTRATION_GRACE_MS } from '../../packages/cloakroom/src/core/dbsc.js';
import type { SessionsOptions } from '../../packages/cloakroom/src/core/options.js';
import type { IncomingRequest } from '../../packages/cloakroom/src/core/request.js';
import { coreHarness, flip, incoming, type RequestSpec } from '../support/core.js';
import { DbscDevice, parseChallenge, parseRegistration } from '../support/dbsc-client.js';

// The DBSC half of the session core in process (memory store, manual clock): the exact headers,
// cookies and deadlines. test/server/dbsc.test.ts runs the same protocol over HTTP on every store.

const BOUND_MS = 10 * 60_000;
const CHALLENGE_MS = 5 * 60_000;

function setup(options: Partial<SessionsOptions> = {}, https = false) {
  const h = coreHarness({ dbsc: true, ...options });
  const dbsc = h.sessions.dbsc!;
  const jar = new Map<string, string>();
  const absorb = (setCookie: string[]) => {
    for (const line of setCookie) {
      const [pair] = line.split(';');
      const name = pair!.slice(0, pair!.indexOf('='));
      const value = pair!.slice(pair!.indexOf('=') + 1);
      if (value === '' || /Max-Age=0/.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
  };
  const cookie = () => [...jar].map(([n, v]) => `${n}=${v}`).join('; ');
  const req = (spec: RequestSpec = {}, headers: Record<string, string> = {}): IncomingRequest => {
    const r = incoming({ cookie: cookie(), https, ...spec });
    for (const [k, v] of Object.entries(headers)) (r.headers as Headers).set(k, v);
    return r;
  };
  const post = (headers: Record<string, string> = {}, spec: RequestSpec = {}) =>
    req({ method: 'POST', ...spec }, headers);
  async function signIn() {
    const issued = await h.sessions.create(req(), { userId: 'u1' });
    absorb(issued.setCookie);
    return issued;
  }
  async function register(device = new DbscDevice(), extra: Record<string, unknown> = {}) {
    const issued = await signIn();
    const offer = parseRegistration(issued.headers?.['Secure-Session-Registration'] ?? null)!;
    const answer = await dbsc.register(
      post({ 'secure-session-response': `"${device.registrationProof(offer.challenge, extra)}"` }),
    );
    absorb(answer.setCookie);
    return {
      issued,
      offer,
      answer,
      device,
      ...parseChallenge(answer.headers['Secure-Session-Challenge'] ?? null)!,
    };
  }
  const refresh = async (id: string, proof?: string, spec: RequestSpec = {}) => {
    const answer = await dbsc.refresh(
      post(
        { 'sec-secure-session-id': `"${id}"`, ...(proof ? { 'secure-session-response': `"${proof}"` } : {}) },
        spec,
      ),
    );
    absorb(answer.setCookie);
    return answer;
  };
  const validate = () => h.sessions.validate(req());
  return { ...h, dbsc, jar, absorb, req, post, signIn, register, refresh, validate };
}

const challengeOf = (a: DbscAnswer) => parseChallenge(a.headers['Secure-Session-Challenge'] ?? null);

describe('registration', () => {
  test('the sign-in offer: both algorithms, the path, a challenge; no store write for it', async () => {
    const t = setup();
    const issued = await t.signIn();
    expect(issued.headers).toEqual({
      'Secure-Session-Registration': expect.stringMatching(
        /^\(ES256 RS256\);path="\/auth\/dbsc\/register";challenge="\d{13}\.[A-Za-z0-9_-]{43}"$/,
      ),
    });
    expect(t.calls.bind ?? 0).toBe(0);
    expect(t.calls.create).toBe(1);
    const offer = parseRegistration(issued.headers!['Secure-Session-Registration']!)!;
    expect(Number(offer.challenge.split('.')[0])).toBe(t.clock.now() + CHALLENGE_MS);
  });

  test('rotation offers nothing; only the algorithms configured are offered and accepted', async () => {
    const t = setup({ dbsc: { algorithms: ['ES256'] } });
    const issued = await t.signIn();
    expect(issued.headers!['Secure-Session-Registration']).toMatch(/^\(ES256\);/);
    const rotated = await t.sessions.rotate(t.req(), issued.session);
    expect(rotated.headers).toBeUndefined();
    const offer = parseRegistration(issued.headers!['Secure-Session-Registration']!)!;
    t.absorb(rotated.setCookie);
    const rsa = new DbscDevice('RS256').registrationProof(offer.challenge);
    expect((await t.dbsc.register(t.post({ 'secure-session-response': `"${rsa}"` }))).event).toMatchObject({
      type: 'refused',
      reason: 'algorithm',
    });
  });

  test('answer: 200, instructions, the bound cookie, the next challenge, an event without secrets', async () => {
    const t = setup();
    const { answer, challenge, id, device } = await t.register();
    expect(answer.status).toBe(200);
    expect(answer.headers['Cache-Control']).toBe('no-store');
    expect(answer.headers['Content-Type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(answer.body!)).toEqual({
      session_identifier: id,
      refresh_url: '/auth/dbsc/refresh',
      scope: { origin: 'http://app.test', include_site: false, scope_specification: [] },
      credentials: [
        { type: 'cookie', name: 'cloakroom-bound', attributes: 'Path=/; HttpOnly; SameSite=Lax' },
      ],
    });
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(answer.setCookie).toHaveLength(1);
    expect(answer.setCookie[0]).toMatch(
      new RegExp(
        `^cloakroom-bound=${id}\\.\\d{13}\\.[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Lax; Max-Age=600$`,
      ),
    );
    expect(answer.event).toEqual({
      type: 'registered',
      userId: 'u1',
      sessionId: expect.any(String),
      alg: 'ES256',
    });
    expect(JSON.stringify(answer.event)).not.toContain(challenge);
    expect(JSON.stringify(answer.event)).not.toContain(String(device.publicJwk.x));
    const { session } = await t.validate();
    expect(session?.bound).toBe(true);
    expect(answer.event.type === 'registered' && answer.event.sessionId).toBe(session!.id);
  });

  test('over HTTPS the bound cookie is __Host- and Secure, and the instructions say so', async () => {
    const t = setup({}, true);
    const { answer } = await t.register();
    expect(answer.setCookie[0]).toMatch(
      /^__Host-cloakroom-bound=.*; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=600$/,
    );
    expect(JSON.parse(answer.body!).credentials).toEqual([
      {
        type: 'cookie',
        name: '__Host-cloakroom-bound',
        attributes: 'Path=/; HttpOnly; SameSite=Lax; Secure',
      },
    ]);
    expect(JSON.parse(answer.body!).scope.origin).toBe('https://app.test');
    expect((await t.validate()).session?.bound).toBe(true);
  });

  test('options: paths, lifetimes, exclusions reach the offer, the instructions and the cookie', async () => {
    const t = setup({
      dbsc: {
        registrationPath: '/r',
        refreshPath: '/f',
        boundCookieTimeout: '90s',
        excludePaths: ['/static/'],
      },
    });
    const { offer, answer } = await t.register();
    expect(offer.path).toBe('/r');
    expect(JSON.parse(answer.body!)).toMatchObject({
      refresh_url: '/f',
      scope: { scope_specification: [{ type: 'exclude', path: '/static/' }] },
    });
    expect(answer.setCookie[0]).toMatch(/Max-Age=90$/);
  });

  test.each<[string, (t: ReturnType<typeof setup>, challenge: string) => IncomingRequest, number, string]>([
    [
      'no session cookie',
      (t, c) =>
        t.post({ 'secure-session-response': `"${new DbscDevice().registrationProof(c)}"` }, { cookie: '' }),
      401,
      'no-session',
    ],
    ['no proof', (t) => t.post(), 400, 'missing-proof'],
    [
      'a foreign Origin',
      (t, c) =>
        t.post(
          { 'secure-session-response': `"${new DbscDevice().registrationProof(c)}"` },
          { origin: 'https://evil.test' },
        ),
      403,
      'csrf',
    ],
    [
      'a cross-site fetch',
      (t, c) =>
        t.post(
          { 'secure-session-response': `"${new DbscDevice().registrationProof(c)}"` },
          { site: 'cross-site' },
        ),
      403,
      'csrf',
    ],
    [
      'a proof without a key',
      (t, c) => t.post({ 'secure-session-response': `"${new DbscDevice().refreshProof(c)}"` }),
      400,
      'bad-key',
    ],
    [
      'a challenge with another MAC',
      (t, c) =>
        t.post({
          'secure-session-response': `"${new DbscDevice().registrationProof(flip(c, c.length - 2))}"`,
        }),
      400,
      'bad-challenge',
    ],
    [
      'a challenge with a later deadline',
      (t, c) =>
        t.post({
          'secure-session-response': `"${new DbscDevice().registrationProof(`${Number(c.split('.')[0]) + 1}.${c.split('.')[1]}`)}"`,
        }),
      400,
      'bad-challenge',
    ],
    [
      'a challenge that is not one',
      (t) => t.post({ 'secure-session-response': `"${new DbscDevice().registrationProof('nodot')}"` }),
      400,
      'bad-challenge',
    ],
    [
      'an aud for another endpoint',
      (t, c) =>
        t.post({
          'secure-session-response': `"${new DbscDevice().registrationProof(c, { aud: 'http://app.test/auth/dbsc/refresh' })}"`,
        }),
      400,
      'bad-audience',
    ],
    [
      'an aud for another origin',
      (t, c) =>
        t.post({
          'secure-session-response': `"${new DbscDevice().registrationProof(c, { aud: 'http://other.test/auth/dbsc/register' })}"`,
        }),
      400,
      'bad-audience',
    ],
    [
      'an aud that is no URL',
      (t, c) =>
        t.post({ 'secure-session-response': `"${new DbscDevice().registrationProof(c, { aud: 'x' })}"` }),
      400,
      'bad-audience',
    ],
    [
      'an iat six minutes and a second old',
      (t, c) =>
        t.post({
          'secure-session-response': `"${new DbscDevice().registrationProof(c, { iat: Math.floor(t.clock.now() / 1000) - 361 })}"`,
        }),
      400,
      'stale-proof',
    ],
    [
      'an iat six minutes and a second ahead',
      (t, c) =>
        t.post({
          'secure-session-response': `"${new DbscDevice().registrationProof(c, { iat: Math.ceil(t.clock.now() / 1000) + 361 })}"`,
        }),
      400,
      'stale-proof',
    ],
    [
      'a proof signed by another key than the one it carries',
      (t, c) => {
        const own = new DbscDevice().registrationProof(c).split('.');
        const other = new DbscDevice().registrationProof(c).split('.')[2];
        return t.post({ 'secure-session-response': `"${own[0]}.${own[1]}.${other}"` });
      },
      400,
      'bad-signature',
    ],
    [
      'an empty jti',
      (t) => t.post({ 'secure-session-response': `"${new DbscDevice().registrationProof('')}"` }),
      400,
      'malformed-proof',
    ],
    [
      'an aud when the request names no host',
      (t, c) =>
        t.post(
          {
            'secure-session-response': `"${new DbscDevice().registrationProof(c, { aud: 'http://app.test/auth/dbsc/register' })}"`,
          },
          { host: '' },
        ),
      400,
      'bad-audience',
    ],
  ])('refused: %s', async (_name, make, status, reason) => {
    const t = setup();
    const issued = await t.signIn();
    const offer = parseRegistration(issued.headers!['Secure-Session-Registration']!)!;
    const answer = await t.dbsc.register(make(t, offer.challenge));
    expect(answer.status).toBe(status);
    expect(answer.event).toMatchObject({
      type: 'refused',
      step: 'registration',
      reason,
      // The origin gate comes before the session is read.
      userId: status === 400 ? 'u1' : null,
      sessionId: status === 400 ? issued.session.id : null,
    });
    expect(answer.setCookie).toEqual([]);
    const code = { 400: 'bad_request', 401: 'unauthenticated', 403: 'csrf' }[status];
    expect(JSON.parse(answer.body!)).toEqual({ error: code, message: expect.stringMatching(/\w/) });
    expect(t.calls.bind ?? 0).toBe(0);
    expect((await t.validate()).session?.bound).toBe(false);
  });

  test('an iat exactly six minutes off either way is still accepted', async () => {
    for (const delta of [-360, 360]) {
      const t = setup();
      const issued = await t.signIn();
      const offer = parseRegistration(issued.headers!['Secure-Session-Registration']!)!;
      t.clock.set?.(Math.floor(t.clock.now() / 1000) * 1000);
      const proof = new DbscDevice().registrationProof(offer.challenge, {
        iat: t.clock.now() / 1000 + delta,
      });
      expect((await t.dbsc.register(t.post({ 'secure-session-response': `"${proof}"` }))).status).toBe(200);
    }
  });

  test('accepted: an aud naming this endpoint, an iat within the window, an unquoted header', async () => {
    const t = setup();
    const issued = await t.signIn();
    const offer = parseRegistration(issued.headers!['Secure-Session-Registration']!)!;
    const proof = new DbscDevice().registrationProof(offer.challenge, {
      aud: 'http://app.test/auth/dbsc/register',
      iat: Math.floor(t.clock.now() / 1000) - 359,
    });
    expect((await t.dbsc.register(t.post({ 'secure-session-response': proof }))).status).toBe(200);
  });

  test('the registration challenge dies at its deadline, to the millisecond', async () => {
    for (const [advance, status] of [
      [CHALLENGE_MS - 1, 200],
      [CHALLENGE_MS, 400],
    ] as const) {
      const t = setup();
      const issued = await t.signIn();
      const offer = parseRegistration(issued.headers!['Secure-Session-Registration']!)!;
      t.clock.advance(advance);
      const proof = new DbscDevice().registrationProof(offer.challenge);
      expect((await t.dbsc.register(t.post({ 'secure-session-response': `"${proof}"` }))).status).toBe(
        status,
      );
    }
  });

  test('an expired session cannot register', async () => {
    const t = setup({ idleTimeout: '5m', touchInterval: '1s' });
    const issued = await t.signIn();
    const offer = parseRegistration(issued.headers!['Secure-Session-Registration']!)!;
    t.clock.advance(5 * 60_000);
    const answer = await t.dbsc.register(
      t.post({ 'secure-session-response': `"${new DbscDevice().registrationProof(offer.challenge)}"` }),
    );
    expect(answer.status).toBe(401);
  });
});

describe('the bound cookie', () => {
  test('is checked on every request of a bound session, with no store write', async () => {
    const t = setup();
    await t.register();
    const writes = () => (t.calls.bind ?? 0) + (t.calls.touch ?? 0) + (t.calls.create ?? 0);
    const before = writes();
    for (let i = 0; i < 5; i++) expect((await t.validate()).session).not.toBeNull();
    expect(writes()).toBe(before);
  });

  test.each<[string, (value: string) => string | null]>([
    ['missing', () => null],
    ['with a flipped MAC', (v) => flip(v, v.length - 3)],
    ['with a later deadline', (v) => v.replace(/\.(\d+)\./, (_m, d: string) => `.${Number(d) + 1}.`)],
    ['of another binding', (v) => `${'A'.repeat(22)}${v.slice(22)}`],
    ['cut short', (v) => v.slice(0, -1)],
    ['with four parts', (v) => `${v}.x`],
    ['far too long', (v) => v + 'A'.repeat(200)],
  ])(
    'refused when %s: no session, reason device-unproven, the session cookie kept',
    async (_name, change) => {
      const t = setup();
      await t.register();
      t.clock.advance(REGISTRATION_GRACE_MS);
      const value = t.jar.get('cloakroom-bound')!;
      const changed = change(value);
      if (changed === null) t.jar.delete('cloakroom-bound');
      else t.jar.set('cloakroom-bound', changed);
      const result = await t.validate();
      expect(result).toEqual({ session: null, reason: 'device-unproven', setCookie: [] });
    },
  );

  test('for ten seconds after registration, and only until the first refresh, a request without any bound cookie passes; a wrong one never', async () => {
    const t = setup();
    await t.register();
    const value = t.jar.get('cloakroom-bound')!;
    t.jar.delete('cloakroom-bound');
    t.clock.advance(REGISTRATION_GRACE_MS - 1);
    expect((await t.validate()).session?.bound).toBe(true);
    t.jar.set('cloakroom-bound', flip(value, value.length - 3));
    expect((await t.validate()).reason).toBe('device-unproven');
    t.jar.delete('cloakroom-bound');
    t.clock.advance(1);
    expect((await t.validate()).reason).toBe('device-unproven');
    // A binding refreshed once has no grace, however young.
    const r = setup();
    const reg = await r.register();
    r.clock.advance(1);
    expect((await r.refresh(reg.id, reg.device.refreshProof(reg.challenge))).status).toBe(200);
    r.jar.delete('cloakroom-bound');
    expect((await r.validate()).reason).toBe('device-unproven');
  });

  test('a bound cookie verified once is remembered, but never vouches for a look-alike; rememberVerified 0 checks every time', async () => {
    for (const rememberVerified of [10_000, 0]) {
      const t = setup({ rememberVerified });
      await t.register();
      t.clock.advance(REGISTRATION_GRACE_MS);
      const value = t.jar.get('cloakroom-bound')!;
      expect((await t.validate()).session?.bound).toBe(true);
      expect((await t.validate()).session?.bound).toBe(true);
      for (const i of [value.length - 1, value.length - 20]) {
        t.jar.set('cloakroom-bound', flip(value, i));
        expect((await t.validate()).reason).toBe('device-unproven');
      }
      t.jar.set('cloakroom-bound', value);
      expect((await t.validate()).session?.bound).toBe(true);
    }
  });

  test('a valid bound cookie of another bound session does not prove this one', async () => {
    const a = setup();
    await a.register();
    a.clock.advance(REGISTRATION_GRACE_MS);
    const aBound = a.jar.get('cloakroom-bound')!;
    // A second session on the same core, bound by another device.
    a.jar.clear();
    await a.register();
    a.clock.advance(REGISTRATION_GRACE_MS);
    expect((await a.validate()).session?.bound).toBe(true);
    a.jar.set('cloakroom-bound', aBound);
    expect((await a.validate()).reason).toBe('device-unproven');
  });

  test('a MAC in another base64url spelling of the same bytes is not the MAC issued', async () => {
    const t = setup();
    await t.register();
    t.clock.advance(REGISTRATION_GRACE_MS);
    const value = t.jar.get('cloakroom-bound')!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(value.at(-1)!);
    // The last of 43 characters carries 4 bits of the MAC and 2 unused ones: set those.
    t.jar.set('cloakroom-bound', value.slice(0, -1) + alphabet[last | 1]!);
    if (alphabet[last | 1] === value.at(-1))
      t.jar.set('cloakroom-bound', value.slice(0, -1) + alphabet[last & ~1]!);
    expect((await t.validate()).reason).toBe('device-unproven');
    expect(t.dbsc.boundCookieName(t.req())).toBe('cloakroom-bound');
    expect(t.dbsc.boundCookieName(incoming({ https: true }))).toBe('__Host-cloakroom-bound');
  });

  test('two bound cookies are refused (no picking one)', async () => {
    const t = setup();
    await t.register();
    const value = t.jar.get('cloakroom-bound')!;
    const r = t.req();
    (r.headers as Headers).set('cookie', `${r.headers.get('cookie')}; cloakroom-bound=${value}`);
    expect((await t.sessions.validate(r)).reason).toBe('device-unproven');
  });

  test('expires at its deadline, to the millisecond', async () => {
    const t = setup({ idleTimeout: '1h' });
    await t.register();
    t.clock.advance(BOUND_MS - 1);
    expect((await t.validate()).session).not.toBeNull();
    t.clock.advance(1);
    expect((await t.validate()).reason).toBe('device-unproven');
  });

  test('an unbound session needs none, and a binding counts for nothing with dbsc off', async () => {
    const t = setup();
    await t.signIn();
    expect((await t.validate()).session?.bound).toBe(false);
    const bound = setup();
    await bound.register();
    const off = coreHarness({ store: bound.store, clock: bound.clock });
    const r = bound.req();
    (r.headers as Headers).set(
      'cookie',
      (r.headers.get('cookie') ?? '').replace(/cloakroom-bound=[^;]*;?\s*/, ''),
    );
    const result = await off.sessions.validate(r);
    expect(result.session).not.toBeNull();
    expect(result.session?.bound).toBe(false);
    expect((await off.sessions.list('u1'))[0]?.bound).toBe(false);
  });

  test('rotation and re-authentication keep the binding: the same bound cookie works for the new ticket', async () => {
    const t = setup();
    await t.register();
    const { session } = await t.validate();
    const issued = await t.sessions.reauthenticate(t.req(), session!);
    t.absorb(issued.setCookie);
    expect(issued.setCookie.some((c) => c.startsWith('cloakroom-bound'))).toBe(false);
    expect((await t.validate()).session?.bound).toBe(true);
    expect((await t.sessions.list('u1')).map((s) => s.bound)).toEqual([true]);
  });

  test('sign-out clears it', async () => {
    const t = setup();
    await t.register();
    const { setCookie } = await t.sessions.destroy(t.post());
    expect(setCookie).toContainEqual(expect.stringMatching(/^cloakroom-bound=; .*Max-Age=0/));
    const plain = coreHarness();
    expect((await plain.sessions.destroy(incoming({ method: 'POST' }))).setCookie).toHaveLength(1);
  });
});

describe('refresh', () => {
  test('with the cached challenge: 200, a new bound cookie, the next challenge; the old challenge is spent', async () => {
    const t = setup();
    const { id, challenge, device } = await t.register();
    t.clock.advance(60_000);
    const answer = await t.refresh(id, device.refreshProof(challenge));
    expect(answer.status).toBe(200);
    expect(answer.event).toEqual({ type: 'refreshed', userId: 'u1', sessionId: expect.any(String) });
    const next = challengeOf(answer)!;
    expect(next.id).toBe(id);
    expect(next.challenge).not.toBe(challenge);
    expect(JSON.parse(answer.body!).session_identifier).toBe(id);
    expect(answer.setCookie[0]).toMatch(/^cloakroom-bound=.*Max-Age=600$/);
    // A minute later: the new bound cookie lives ten minutes from the refresh.
    t.clock.advance(BOUND_MS - 1);
    expect((await t.validate()).session).not.toBeNull();
    expect((await t.refresh(id, device.refreshProof(challenge))).status).toBe(403);
  });

  test('the challenge a refresh hands out is the live one until its deadline', async () => {
    const t = setup({ idleTimeout: '1h' });
    const { id, challenge, device } = await t.register();
    const next = challengeOf(await t.refresh(id, device.refreshProof(challenge)))!;
    t.clock.advance(CHALLENGE_MS - 1);
    const answer = await t.refresh(id, device.refreshProof(next.challenge));
    expect(answer.status).toBe(200);
    expect(answer.event.type).toBe('refreshed');
  });

  test('without a proof: 403 and the current challenge while it has more than half its life, without a write', async () => {
    const t = setup();
    const { id, challenge } = await t.register();
    const binds = t.calls.bind ?? 0;
    t.clock.advance(CHALLENGE_MS / 2 - 1);
    const answer = await t.refresh(id);
    expect(answer.status).toBe(403);
    expect(challengeOf(answer)).toEqual({ challenge, id });
    expect(answer.event).toMatchObject({ type: 'challenged' });
    expect(t.calls.bind).toBe(binds);
    expect(answer.setCookie).toEqual([]);
    t.clock.advance(1);
    const renewed = await t.refresh(id);
    expect(challengeOf(renewed)?.challenge).not.toBe(challenge);
    expect(t.calls.bind).toBe(binds + 1);
  });

  test('the refresh challenge dies at its deadline: a proof over it is challenged again', async () => {
    for (const [advance, status] of [
      [CHALLENGE_MS - 1, 200],
      [CHALLENGE_MS, 403],
    ] as const) {
      const t = setup({ idleTimeout: '1h' });
      const { id, challenge, device } = await t.register();
      t.clock.advance(advance);
      expect((await t.refresh(id, device.refreshProof(challenge))).status).toBe(status);
    }
  });

  test('a proof with an old iat or a foreign aud is refused even over the right challenge', async () => {
    const t = setup();
    const { id, challenge, device } = await t.register();
    const stale = await t.refresh(
      id,
      device.refreshProof(challenge, { iat: Math.floor(t.clock.now() / 1000) - 400 }),
    );
    expect(stale.status).toBe(403);
    const foreign = await t.refresh(id, device.refreshProof(challenge, { aud: 'http://app.test/elsewhere' }));
    expect(foreign.status).toBe(400);
    expect(foreign.event).toMatchObject({ type: 'refused', step: 'refresh', reason: 'bad-audience' });
    const ok = await t.refresh(
      id,
      device.refreshProof(challenge, { aud: 'http://app.test/auth/dbsc/refresh' }),
    );
    expect(ok.status).toBe(200);
  });

  test.each<
    [
      string,
      (
        t: ReturnType<typeof setup>,
        r: Awaited<ReturnType<ReturnType<typeof setup>['register']>>,
      ) => IncomingRequest,
      number,
      string,
    ]
  >([
    ['no session id', (t) => t.post(), 400, 'missing-session-id'],
    [
      'a session id of the wrong shape',
      (t) => t.post({ 'sec-secure-session-id': '"short"' }),
      400,
      'missing-session-id',
    ],
    [
      'a foreign Origin',
      (t, r) => t.post({ 'sec-secure-session-id': `"${r.id}"` }, { origin: 'https://evil.test' }),
      400,
      'csrf',
    ],
    [
      'a proof by another key',
      (t, r) =>
        t.post({
          'sec-secure-session-id': `"${r.id}"`,
          'secure-session-response': `"${new DbscDevice().refreshProof(r.challenge)}"`,
        }),
      400,
      'bad-signature',
    ],
    [
      'an RS256 proof for an ES256 binding',
      (t, r) =>
        t.post({
          'sec-secure-session-id': `"${r.id}"`,
          'secure-session-response': `"${new DbscDevice('RS256').refreshProof(r.challenge)}"`,
        }),
      400,
      'algorithm',
    ],
    [
      'garbage',
      (t, r) => t.post({ 'sec-secure-session-id': `"${r.id}"`, 'secure-session-response': '"a.b.c"' }),
      400,
      'malformed-proof',
    ],
  ])('refused: %s', async (_name, make, status, reason) => {
    const t = setup();
    const r = await t.register();
    const binds = t.calls.bind;
    const answer = await t.dbsc.refresh(make(t, r));
    expect(answer.status).toBe(status);
    expect(answer.event).toMatchObject({ type: 'refused', step: 'refresh', reason });
    expect(answer.setCookie).toEqual([]);
    expect(answer.headers['Secure-Session-Challenge']).toBeUndefined();
    expect(t.calls.bind).toBe(binds);
    // The honest proof still works: nothing above spent the challenge.
    expect((await t.refresh(r.id, r.device.refreshProof(r.challenge))).status).toBe(200);
  });

  test('for no session, an unbound session or another binding: 200 continue:false and the bound cookie cleared', async () => {
    const t = setup();
    const r = await t.register();
    const other = await t.refresh('B'.repeat(22));
    expect(other.status).toBe(200);
    expect(JSON.parse(other.body!)).toEqual({ session_identifier: 'B'.repeat(22), continue: false });
    expect(other.event).toMatchObject({ type: 'ended', reason: 'unknown-binding', userId: 'u1' });
    // This session is bound anew: its bound cookie belongs to that binding and stays.
    expect(other.setCookie).toEqual([]);
    const gone = await t.dbsc.refresh(t.post({ 'sec-secure-session-id': `"${r.id}"` }, { cookie: '' }));
    expect(gone.event).toMatchObject({ type: 'ended', reason: 'no-session', userId: null, sessionId: null });
    expect(gone.setCookie).toEqual([expect.stringMatching(/^cloakroom-bound=; .*Max-Age=0/)]);
    const plain = setup();
    await plain.signIn();
    expect((await plain.refresh(r.id)).event).toMatchObject({ type: 'ended', reason: 'unknown-binding' });
  });
});
