import { afterEach, describe, expect, test } from 'vitest';
import {
  beginPasskeyRegistration,
  beginPasskeySignIn,
  finishPasskeyRegistration,
  finishPasskeySignIn,
} from '../../packages/cloakroom/src/passkeys/index.js';
import type { CreationOptionsJSON, RequestOptionsJSON } from '../support/soft-authenticator.js';
import { type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * A response is client input: its shape and the size of every field are checked before anything
 * is decoded, and a malformed one neither uses the challenge up nor reaches the WebAuthn library.
 */

describe('passkey responses as input', () => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  test('malformed or oversized sign-in responses are invalid_passkey; the challenge stays usable', async () => {
    h = passkeyHarness();
    await h.withPasskey('alice');
    const begun = await beginPasskeySignIn(h.deps, h.post());
    const request = h.withCookies(begun.setCookie);
    const good = h.authenticator.authenticate(begun.options as RequestOptionsJSON);
    // Well-formed but too long: it carries the real challenge, so only the size bound stops it
    // from using the challenge up.
    const clientData = JSON.parse(Buffer.from(good.response.clientDataJSON, 'base64url').toString());
    const big = Buffer.from(JSON.stringify({ ...clientData, padding: 'x'.repeat(4000) })).toString(
      'base64url',
    );
    const bigBytes = 'A'.repeat(5000);
    const bad: unknown[] = [
      undefined,
      null,
      'string',
      [],
      { ...good, type: 'password' },
      { ...good, rawId: 'other' },
      { ...good, id: 'has space', rawId: 'has space' },
      { ...good, id: 'A'.repeat(1365), rawId: 'A'.repeat(1365) },
      { ...good, response: null },
      { ...good, response: { ...good.response, clientDataJSON: big } },
      { ...good, response: { ...good.response, clientDataJSON: 'not base64!' } },
      { ...good, response: { ...good.response, clientDataJSON: Buffer.from('[1,2]').toString('base64url') } },
      {
        ...good,
        response: { ...good.response, clientDataJSON: Buffer.from('{"challenge":1}').toString('base64url') },
      },
      { ...good, response: { ...good.response, authenticatorData: bigBytes } },
      { ...good, response: { ...good.response, signature: 'A'.repeat(4097) } },
      { ...good, response: { ...good.response, signature: 42 } },
      { ...good, response: { ...good.response, userHandle: 'A'.repeat(87) } },
      { ...good, response: { ...good.response, userHandle: 7 } },
    ];
    for (const response of bad) {
      expect(
        await finishPasskeySignIn(h.deps, request, { response }),
        JSON.stringify(response)?.slice(0, 80),
      ).toMatchObject({
        error: 'invalid_passkey',
      });
    }
    expect((await finishPasskeySignIn(h.deps, request, { response: good })).ok).toBe(true);
  });

  test('a registration response with an oversized attestation or bad transports is refused', async () => {
    h = passkeyHarness();
    const { session } = await h.signedInUser('alice');
    const begun = await beginPasskeyRegistration(h.deps, h.post(), session);
    if (!begun.ok) throw new Error(begun.error);
    const good = h.authenticator.register(begun.options as CreationOptionsJSON);
    for (const response of [
      { ...good, response: { ...good.response, attestationObject: 'A'.repeat(8193) } },
      { ...good, response: { ...good.response, transports: 'usb' } },
      { ...good, response: { ...good.response, transports: Array(17).fill('usb') } },
    ]) {
      expect(await finishPasskeyRegistration(h.deps, h.post(), session, { response })).toMatchObject({
        error: 'invalid_passkey',
      });
    }
    // Unknown transport names are dropped, not stored.
    const response = { ...good, response: { ...good.response, transports: ['usb', 'telepathy', 'usb', 3] } };
    const done = await finishPasskeyRegistration(h.deps, h.post(), session, { response });
    if (!done.ok) throw new Error(done.error);
    const again = await beginPasskeyRegistration(h.deps, h.post(), session);
    if (!again.ok) throw new Error(again.error);
    expect(again.options.excludeCredentials).toEqual([
      { id: good.id, transports: ['usb'], type: 'public-key' },
    ]);
  });
});
