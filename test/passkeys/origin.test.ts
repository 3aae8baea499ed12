import { afterEach, describe, expect, test } from 'vitest';
import {
  beginPasskeyRegistration,
  beginPasskeySignIn,
  finishPasskeyRegistration,
  finishPasskeySignIn,
  listPasskeys,
} from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS } from '../auth/second-factor-harness.js';
import type { CreationOptionsJSON, RequestOptionsJSON } from '../support/soft-authenticator.js';
import { type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * `clientDataJSON.origin` is the page the browser ran the ceremony on: a phishing site relaying
 * our challenge gets its own origin signed in, and is refused. Only the configured origins pass.
 */

describe.each(BACKENDS)('origins on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  test('an assertion made on another origin is refused, audited, and changes nothing', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    for (const origin of ['https://evil.example', 'http://localhost:3001', 'https://localhost:3000']) {
      const begun = await beginPasskeySignIn(h.deps, h.post());
      const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON, { origin });
      expect(await finishPasskeySignIn(h.deps, h.withCookies(begun.setCookie), { response })).toMatchObject({
        error: 'invalid_passkey',
      });
    }
    expect(h.events.filter((e) => e.event === 'passkey.failure')).toHaveLength(3);
    expect((await listPasskeys(h.deps, user.id))[0]!.lastUsedAt).toBeNull();
  });

  test('a registration made on another origin is refused', async () => {
    h = passkeyHarness(backend);
    const { user, session } = await h.signedInUser('alice');
    const begun = await beginPasskeyRegistration(h.deps, h.post(), session);
    if (!begun.ok) throw new Error(begun.error);
    const response = h.authenticator.register(begun.options as CreationOptionsJSON, {
      origin: 'https://evil.example',
    });
    expect(await finishPasskeyRegistration(h.deps, h.post(), session, { response })).toMatchObject({
      error: 'invalid_passkey',
    });
    expect(await listPasskeys(h.deps, user.id)).toEqual([]);
  });

  test('every configured origin is accepted', async () => {
    h = passkeyHarness(backend, {
      passkeys: { origins: ['http://localhost:3000', 'http://localhost:8080'] },
    });
    await h.withPasskey('alice');
    const begun = await beginPasskeySignIn(h.deps, h.post());
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON, {
      origin: 'http://localhost:8080',
    });
    expect((await finishPasskeySignIn(h.deps, h.withCookies(begun.setCookie), { response })).ok).toBe(true);
  });
});
