import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { headerString, parseProof, verifyProof } from '../../packages/cloakroom/src/core/dbsc-proof.js';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';
import { createSessions } from '../../packages/cloakroom/src/core/sessions.js';
import type { BindingKey, SessionStore } from '../../packages/cloakroom/src/core/store.js';
import { createMemoryStore } from '../../packages/cloakroom/src/stores/memory/index.js';
import { SECRET_A } from '../support/core.js';
import { DbscDevice } from '../support/dbsc-client.js';

const BOTH = ['ES256', 'RS256'] as const;
const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('headerString: the sf-string of Sec-Secure-Session-Id and Secure-Session-Response', () => {
  test.each([
    ['"abc"', 'abc'],
    ['  "abc";p=1', 'abc'],
    ['abc.def_-', 'abc.def_-'],
    ['"a\\"b"', null],
    ['"abc', null],
    ['"abc" x', null],
    ['""', null],
    ['a b', null],
    ['', null],
  ])('%j → %j', (input, expected) => {
    expect(headerString(input)).toBe(expected);
  });
  test('absent is null', () => {
    expect(headerString(null)).toBeNull();
    expect(headerString(undefined)).toBeNull();
  });
});

describe('parseProof refuses what the draft does not allow, before any signature is checked', () => {
  const device = new DbscDevice();
  const jwk = device.publicJwk;
  const refusal = (header: Record<string, unknown>, payload: Record<string, unknown>) =>
    parseProof(`${enc(header)}.${enc(payload)}.${'A'.repeat(86)}`, BOTH);

  test.each<[string, Record<string, unknown>, Record<string, unknown>, string]>([
    ['typ JWT', { typ: 'JWT', alg: 'ES256', jwk }, { jti: 'c' }, 'malformed-proof'],
    ['alg none', { typ: 'dbsc+jwt', alg: 'none', jwk }, { jti: 'c' }, 'algorithm'],
    ['alg HS256', { typ: 'dbsc+jwt', alg: 'HS256', jwk }, { jti: 'c' }, 'algorithm'],
    ['no jti', { typ: 'dbsc+jwt', alg: 'ES256', jwk }, {}, 'malformed-proof'],
    ['jti a number', { typ: 'dbsc+jwt', alg: 'ES256', jwk }, { jti: 5 }, 'malformed-proof'],
    ['aud a list', { typ: 'dbsc+jwt', alg: 'ES256', jwk }, { jti: 'c', aud: ['x'] }, 'malformed-proof'],
    ['iat a string', { typ: 'dbsc+jwt', alg: 'ES256', jwk }, { jti: 'c', iat: '1' }, 'malformed-proof'],
    ['a private key', { typ: 'dbsc+jwt', alg: 'ES256', jwk: { ...jwk, d: 'AA' } }, { jti: 'c' }, 'bad-key'],
    [
      'an RSA key for ES256',
      { typ: 'dbsc+jwt', alg: 'ES256', jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } },
      { jti: 'c' },
      'bad-key',
    ],
    ['P-384', { typ: 'dbsc+jwt', alg: 'ES256', jwk: { ...jwk, crv: 'P-384' } }, { jti: 'c' }, 'bad-key'],
    [
      'a point off the curve',
      { typ: 'dbsc+jwt', alg: 'ES256', jwk: { ...jwk, y: 'A'.repeat(43) } },
      { jti: 'c' },
      'bad-key',
    ],
    ['a key that is a string', { typ: 'dbsc+jwt', alg: 'ES256', jwk: 'key' }, { jti: 'c' }, 'bad-key'],
  ])('%s', (_name, header, payload, reason) => {
    expect(refusal(header, payload)).toBe(reason);
  });

  test.each([
    ['two parts', 'a.b'],
    ['four parts', 'a.b.c.d'],
    ['not base64url', 'a+b.c.d'],
    ['no signature', `${enc({ typ: 'dbsc+jwt', alg: 'ES256' })}.${enc({ jti: 'c' })}.`],
    ['a header that is not JSON', `${Buffer.from('{').toString('base64url')}.${enc({ jti: 'c' })}.AAAA`],
    ['a payload that is an array', `${enc({ typ: 'dbsc+jwt', alg: 'ES256' })}.${enc(['c'])}.AAAA`],
    ['longer than 8 KiB', `${enc({ typ: 'dbsc+jwt', alg: 'ES256' })}.${enc({ jti: 'c'.repeat(9000) })}.AAAA`],
  ])('%s', (_name, text) => {
    expect(parseProof(text, BOTH)).toBe('malformed-proof');
  });

  test('RSA keys: the wrong kind, private members, or fewer than 2048 bits are refused', () => {
    const rsa = new DbscDevice('RS256').publicJwk;
    const weak = new DbscDevice('RS256', 1024).publicJwk;
    const cases: Array<Record<string, unknown>> = [
      { ...rsa, kty: 'EC' },
      { ...rsa, kty: 'oct' },
      { ...rsa, p: 'AQAB' },
      { ...rsa, q: 'AQAB' },
      { ...rsa, n: '' },
      { ...rsa, e: 'not base64url!' },
      weak,
      jwk,
    ];
    for (const key of cases)
      expect(refusal({ typ: 'dbsc+jwt', alg: 'RS256', jwk: key }, { jti: 'c' })).toBe('bad-key');
    expect(typeof refusal({ typ: 'dbsc+jwt', alg: 'RS256', jwk: rsa }, { jti: 'c' })).toBe('object');
    expect(refusal({ typ: 'dbsc+jwt', alg: 'ES256', jwk: { ...jwk, kty: 'oct' } }, { jti: 'c' })).toBe(
      'bad-key',
    );
    expect(refusal({ typ: 'dbsc+jwt', alg: 'ES256', jwk: { ...jwk, x: `${jwk.x}A` } }, { jti: 'c' })).toBe(
      'bad-key',
    );
  });

  test('an algorithm the server did not offer is refused', () => {
    expect(parseProof(new DbscDevice('RS256').registrationProof('c'), ['ES256'])).toBe('algorithm');
  });

  test('a key in the payload (`key`, builds before the draft moved it to the header) is read', () => {
    const proof = device.sign({ typ: 'dbsc+jwt', alg: 'ES256' }, { jti: 'c', key: jwk });
    const parsed = parseProof(proof, BOTH);
    expect(typeof parsed).toBe('object');
    if (typeof parsed === 'string') return;
    expect(parsed.jwk).toEqual({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y });
    expect(verifyProof(parsed, parsed.jwk!, 'ES256')).toBe(true);
  });
});

describe('verifyProof: node:crypto, JWS signature formats', () => {
  test('ES256 and RS256 proofs verify with their key, not with another or another algorithm', () => {
    for (const alg of BOTH) {
      const device = new DbscDevice(alg);
      const parsed = parseProof(device.registrationProof('c', { aud: 'x', iat: 1 }), BOTH);
      if (typeof parsed === 'string') throw new Error(parsed);
      expect(parsed).toMatchObject({ alg, jti: 'c', aud: 'x', iat: 1 });
      expect(verifyProof(parsed, parsed.jwk!, alg)).toBe(true);
      const other = new DbscDevice(alg).publicJwk as BindingKey;
      expect(verifyProof(parsed, other, alg)).toBe(false);
      expect(verifyProof(parsed, parsed.jwk!, alg === 'ES256' ? 'RS256' : 'ES256')).toBe(false);
    }
  });

  test('an ES256 signature in DER (not R||S) is refused', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const input = `${enc({ typ: 'dbsc+jwt', alg: 'ES256', jwk })}.${enc({ jti: 'c' })}`;
    const der = sign('sha256', Buffer.from(input), privateKey).toString('base64url');
    const parsed = parseProof(`${input}.${der}`, BOTH);
    if (typeof parsed === 'string') throw new Error(parsed);
    expect(verifyProof(parsed, parsed.jwk!, 'ES256')).toBe(false);
  });
});

describe('dbsc options', () => {
  const store = () => createMemoryStore({ sweepIntervalMs: 0 }) as SessionStore;
  const make = (dbsc: unknown, s: SessionStore = store()) =>
    createSessions({ secrets: [SECRET_A], store: s, dbsc: dbsc as never });

  test('off by default; on with true or options', () => {
    expect(createSessions({ secrets: [SECRET_A], store: store() }).dbsc).toBeNull();
    expect(make(false).dbsc).toBeNull();
    expect(make(true).dbsc).toMatchObject({
      registrationPath: '/auth/dbsc/register',
      refreshPath: '/auth/dbsc/refresh',
    });
    expect(make({ registrationPath: '/r', refreshPath: '/f' }).dbsc).toMatchObject({
      registrationPath: '/r',
      refreshPath: '/f',
    });
  });

  test.each<[string, unknown, string]>([
    ['a relative path', { registrationPath: 'reg' }, 'dbsc.registrationPath'],
    ['a path with a query', { refreshPath: '/r?x=1' }, 'dbsc.refreshPath'],
    ['a path with a quote', { refreshPath: '/r"x' }, 'dbsc.refreshPath'],
    [
      'a percent-encoded path (adapters compare raw and decoded paths differently)',
      { refreshPath: '/r%20x' },
      'dbsc.refreshPath',
    ],
    ['one path for both', { registrationPath: '/x', refreshPath: '/x' }, 'dbsc.refreshPath'],
    ['a bound cookie of 5s', { boundCookieTimeout: '5s' }, 'dbsc.boundCookieTimeout'],
    ['a bound cookie of 2h', { boundCookieTimeout: '2h' }, 'dbsc.boundCookieTimeout'],
    ['a challenge of 1h', { challengeTimeout: '1h' }, 'dbsc.challengeTimeout'],
    ['alg none', { algorithms: ['none'] }, 'dbsc.algorithms'],
    ['no algorithm', { algorithms: [] }, 'dbsc.algorithms'],
    ['an exclude path without a slash', { excludePaths: ['static'] }, 'dbsc.excludePaths[0]'],
    ['a string', 'yes', 'dbsc'],
  ])('%s is refused naming %s', (_name, dbsc, option) => {
    expect(() => make(dbsc)).toThrow(ConfigError);
    expect(() => make(dbsc)).toThrow(option);
  });

  test('a store without bind() is refused when dbsc is on, naming why', () => {
    const { bind: _bind, ...withoutBind } = store();
    expect(() => make(true, withoutBind as SessionStore)).toThrow(/does not implement bind/);
    expect(() => make(false, withoutBind as SessionStore)).not.toThrow();
  });
});
