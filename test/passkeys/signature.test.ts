import { afterEach, describe, expect, test } from 'vitest';
import {
  beginPasskeyReauth,
  beginPasskeySignIn,
  finishPasskeyReauth,
  finishPasskeySignIn,
  listPasskeys,
} from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS } from '../auth/second-factor-harness.js';
import type { AuthenticationResponseJSON, RequestOptionsJSON } from '../support/soft-authenticator.js';
import { type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * The signature covers the authenticator data and the hash of clientDataJSON: a flipped byte of
 * the signature, or anything changed in what it covers, is refused and changes nothing.
 */

const edit = (b64: string, change: (bytes: Buffer) => void) => {
  const bytes = Buffer.from(b64, 'base64url');
  change(bytes);
  return bytes.toString('base64url');
};

describe.each(BACKENDS)('signatures on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  test('a tampered signature, counter or client data is refused for sign-in', async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    const tamper: Array<(r: AuthenticationResponseJSON) => AuthenticationResponseJSON> = [
      (r) => r,
      (r) => ({
        ...r,
        response: {
          ...r.response,
          authenticatorData: edit(r.response.authenticatorData, (b) => b.writeUInt32BE(1000, 33)),
        },
      }),
      (r) => ({
        ...r,
        response: {
          ...r.response,
          clientDataJSON: Buffer.from(
            Buffer.from(r.response.clientDataJSON, 'base64url')
              .toString()
              .replace('"crossOrigin":false', '"crossOrigin":false '),
          ).toString('base64url'),
        },
      }),
    ];
    for (const [i, change] of tamper.entries()) {
      const begun = await beginPasskeySignIn(h.deps, h.post());
      const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON, {
        tamperSignature: i === 0,
      });
      expect(
        await finishPasskeySignIn(h.deps, h.withCookies(begun.setCookie), { response: change(response) }),
      ).toMatchObject({
        error: 'invalid_passkey',
      });
    }
    expect((await listPasskeys(h.deps, user.id))[0]!.lastUsedAt).toBeNull();
    expect(h.events.filter((e) => e.event === 'passkey.failure')).toHaveLength(3);
  });

  test('a tampered signature is refused for re-authentication', async () => {
    h = passkeyHarness(backend);
    const { session } = await h.withPasskey('alice');
    const begun = await beginPasskeyReauth(h.deps, h.post(), session);
    if (!begun.ok) throw new Error(begun.error);
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON, {
      tamperSignature: true,
    });
    expect(await finishPasskeyReauth(h.deps, h.post(), session, { response })).toMatchObject({
      error: 'invalid_passkey',
    });
  });
});
