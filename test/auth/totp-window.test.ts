import { afterEach, describe, expect, test } from 'vitest';
import { completeSignIn } from '../../packages/cloakroom/src/auth/accounts/index.js';
import { BACKENDS, type Harness, harness, instance } from './second-factor-harness.js';

/*
 * RFC 6238 through `otpauth`, on a stepped clock: the current step and one either side are
 * accepted (clock skew, typing time), two steps away are not, and a code is accepted at most once
 * — also when the second use reaches another instance, because the last step used lives in the
 * shared user store.
 */

describe.each(BACKENDS)('TOTP window and replay on %s', (backend) => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  test.each([
    ['the current step', 0, true],
    ['one step behind', -1, true],
    ['one step ahead', 1, true],
    ['two steps behind', -2, false],
    ['two steps ahead', 2, false],
  ])('a code of %s is %s', async (_name, steps, accepted) => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    const result = await completeSignIn(h.deps, h.pendingFor(user), { code: h.code(key, steps) });
    expect(result.ok).toBe(accepted);
    if (!result.ok) expect(result.error).toBe('invalid_code');
  });

  test('the same code twice: the second use is refused as a replay', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    const code = h.code(key);
    expect((await completeSignIn(h.deps, h.pendingFor(user), { code })).ok).toBe(true);
    expect(await completeSignIn(h.deps, h.pendingFor(user), { code })).toMatchObject({
      ok: false,
      error: 'invalid_code',
    });
    // An earlier step than one already used is a replay too, though still inside the window.
    expect(await completeSignIn(h.deps, h.pendingFor(user), { code: h.code(key, -1) })).toMatchObject({
      ok: false,
      error: 'invalid_code',
    });
    // The next step is a new code.
    h.clock.advance(30_000);
    expect((await completeSignIn(h.deps, h.pendingFor(user), { code: h.code(key) })).ok).toBe(true);
  });

  test('the same code on a second instance (other sessions, throttle, connection) is refused', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    const other = instance(h.stores.reopen(), h.clock);
    const code = h.code(key);
    expect((await completeSignIn(h.deps, h.pendingFor(user), { code })).ok).toBe(true);
    expect(await completeSignIn(other.deps, h.pendingFor(user, other), { code })).toMatchObject({
      ok: false,
      error: 'invalid_code',
    });
  });

  test('a code typed with spaces is the same code; letters or five digits are wrong codes', async () => {
    h = harness(backend);
    const { user, key } = await h.enrol('alice');
    const code = h.code(key);
    for (const wrong of ['12345', 'abcdef', '1234567']) {
      expect(await completeSignIn(h.deps, h.pendingFor(user), { code: wrong })).toMatchObject({
        error: 'invalid_code',
      });
    }
    const spaced = `${code.slice(0, 3)} ${code.slice(3)}`;
    expect((await completeSignIn(h.deps, h.pendingFor(user), { code: spaced })).ok).toBe(true);
  });
});
