import { afterEach, describe, expect, test } from 'vitest';
import { parseDocument } from '../../packages/cloakroom/src/auth/second-factor/document.js';
import { beginPasskeySignIn, finishPasskeySignIn } from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS } from '../auth/second-factor-harness.js';
import type { AuthenticateOptions, RequestOptionsJSON } from '../support/soft-authenticator.js';
import { type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * The signature counter (WebAuthn 6.1.1): once either side is not 0, a counter that does not grow
 * means two authenticators hold the key. The assertion is refused and `passkey.clone-suspected`
 * audited — only after the signature verified, so a forged response can raise no alarm.
 */

describe.each(BACKENDS)('signature counters on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  async function signIn(opts: AuthenticateOptions = {}) {
    const begun = await beginPasskeySignIn(h.deps, h.post());
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON, opts);
    return finishPasskeySignIn(h.deps, h.withCookies(begun.setCookie), { response });
  }
  const stored = async (userId: string) =>
    parseDocument((await h.deps.users.getById(userId))!.secondFactor).passkeys[0]!;
  const clones = () => h.events.filter((e) => e.event === 'passkey.clone-suspected');

  test('a counter that went back, stayed, or fell to 0 is refused and audited as a suspected clone', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    const id = h.authenticator.credentials[0]!.id;
    expect((await signIn({ counter: 5 })).ok).toBe(true);
    expect((await stored(user.id)).counter).toBe(5);
    for (const counter of [4, 5, 0]) {
      expect(await signIn({ counter })).toMatchObject({ ok: false, error: 'invalid_passkey' });
    }
    expect(clones()).toEqual(
      [1, 2, 3].map(() => ({
        event: 'passkey.clone-suspected',
        userId: user.id,
        passkey: id,
        ip: '203.0.113.10',
      })),
    );
    expect((await stored(user.id)).counter).toBe(5);
    expect((await signIn({ counter: 6 })).ok).toBe(true);
  });

  test('an authenticator that keeps no counter (always 0) is fine', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    for (let i = 0; i < 3; i++) expect((await signIn({ counter: 0 })).ok).toBe(true);
    expect((await stored(user.id)).counter).toBe(0);
    expect(clones()).toEqual([]);
  });

  test('a forged or foreign response with a low counter raises no alarm', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    expect((await signIn({ counter: 9 })).ok).toBe(true);
    expect(await signIn({ counter: 1, tamperSignature: true })).toMatchObject({ error: 'invalid_passkey' });
    expect(await signIn({ counter: 1, origin: 'https://evil.example' })).toMatchObject({
      error: 'invalid_passkey',
    });
    expect(clones()).toEqual([]);
    expect((await stored(user.id)).counter).toBe(9);
  });
});
