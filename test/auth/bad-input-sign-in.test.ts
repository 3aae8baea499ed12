import { describe, expect, test } from 'vitest';
import type { SignInInput } from '../../packages/cloakroom/src/auth/sign-in.js';
import { signIn } from '../../packages/cloakroom/src/auth/sign-in.js';
import { authHarness, passwords } from '../support/auth.js';
import { incoming } from '../support/core.js';

const PASSWORD = 'correct horse battery staple';

/** Parsed as a JSON body would be: an own `__proto__` key, not a prototype. */
const protoObject = JSON.parse('{"__proto__": {"admin": true}, "toString": "alice"}') as unknown;

const badInputs: Array<[string, SignInInput]> = [
  ['username as an array', { username: ['alice'], password: PASSWORD }],
  ['password as an array', { username: 'alice', password: [PASSWORD] }],
  ['password as a query operator', { username: 'alice', password: { $ne: null } }],
  ['username as a query operator', { username: { $gt: '' }, password: PASSWORD }],
  ['username as a number', { username: 12345, password: PASSWORD }],
  ['password as a number', { username: 'alice', password: 12345678 }],
  ['username as a __proto__ object', { username: protoObject, password: PASSWORD }],
  ['password as a __proto__ object', { username: 'alice', password: protoObject }],
  ['username null', { username: null, password: PASSWORD }],
  ['password missing', { username: 'alice', password: undefined }],
  ['password as a boolean', { username: 'alice', password: true }],
  ['remember as a string', { username: 'alice', password: PASSWORD, remember: 'true' }],
  ['remember as a number', { username: 'alice', password: PASSWORD, remember: 1 }],
  ['remember as null', { username: 'alice', password: PASSWORD, remember: null }],
  ['empty password', { username: 'alice', password: '' }],
  ['empty username', { username: '', password: PASSWORD }],
  ['control character in username', { username: 'ali\u0000ce', password: PASSWORD }],
  ['password over 1,024 bytes', { username: 'alice', password: 'p'.repeat(1025) }],
  ['1 MB username', { username: 'a'.repeat(1_000_000), password: PASSWORD }],
];

describe('sign-in with malformed input', () => {
  test.each(badInputs)('%s → bad_request, no session, no exception', async (_, input) => {
    const h = authHarness();
    await h.seed('alice', await passwords.hash(PASSWORD));
    const result = await signIn(h.deps, incoming({ method: 'POST' }), input);
    expect(result).toMatchObject({ ok: false, error: 'bad_request' });
    expect(result).toEqual({ ok: false, error: 'bad_request', message: expect.any(String) });
    expect(h.store.size).toBe(0);
  });

  test('bad requests are not counted as failures: the account is not locked by them', async () => {
    const h = authHarness();
    await h.seed('alice', await passwords.hash(PASSWORD));
    for (let round = 0; round < 2; round++) {
      for (const [, input] of badInputs) await signIn(h.deps, incoming({ method: 'POST' }), input);
    }
    expect(await h.signInAs('alice', PASSWORD)).toMatchObject({ ok: true });
    expect(h.store.size).toBe(1);
  });

  test('a well-formed request still signs in (the guard is not over-eager)', async () => {
    const h = authHarness();
    await h.seed('alice', await passwords.hash(PASSWORD));
    expect(await h.signInAs('alice', PASSWORD, undefined, true)).toMatchObject({ ok: true });
    expect(await h.signInAs('alice', PASSWORD, undefined, false)).toMatchObject({ ok: true });
  });
});
