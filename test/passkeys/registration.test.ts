import { decodeCBOR, encodeCBOR } from '@levischuck/tiny-cbor';
import { afterEach, describe, expect, test } from 'vitest';
import { parseDocument } from '../../packages/cloakroom/src/auth/second-factor/document.js';
import {
  beginPasskeyRegistration,
  finishPasskeyRegistration,
  listPasskeys,
  MAX_PASSKEYS,
} from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS } from '../auth/second-factor-harness.js';
import type { CreationOptionsJSON, RegistrationResponseJSON } from '../support/soft-authenticator.js';
import { type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * Adding a passkey: the options ask for a discoverable credential with user verification and no
 * attestation, exclude the user's passkeys, carry the user id (never the username) as the user
 * handle; the finish stores exactly what verified, under a name, once.
 */

describe.each(BACKENDS)('passkey registration on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  test('the options: resident key and user verification required, attestation none, the user id as handle', async () => {
    h = passkeyHarness(backend);
    const { user, session } = await h.signedInUser('alice');
    const begun = await beginPasskeyRegistration(h.deps, h.post(), session);
    if (!begun.ok) throw new Error(begun.error);
    const { options } = begun;
    expect(options.authenticatorSelection).toMatchObject({
      residentKey: 'required',
      requireResidentKey: true,
      userVerification: 'required',
    });
    expect(options.attestation).toBe('none');
    expect(options.rp).toEqual({ id: 'localhost', name: 'cloakroom' });
    expect(options.user).toEqual({
      id: Buffer.from(user.id, 'utf8').toString('base64url'),
      name: 'alice',
      displayName: 'alice',
    });
    expect(options.excludeCredentials).toEqual([]);
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(options.timeout).toBe(5 * 60_000);
  });

  test('a registered passkey is listed, excluded from the next registration, and audited', async () => {
    h = passkeyHarness(backend);
    const { user, session } = await h.signedInUser('alice');
    const done = await h.register(session, { name: '  Work laptop ', backedUp: true });
    expect(done.passkey).toEqual({
      id: h.authenticator.credentials[0]!.id,
      name: 'Work laptop',
      createdAt: h.clock.now(),
      lastUsedAt: null,
      backedUp: true,
      deviceType: 'multiDevice',
    });
    expect(await listPasskeys(h.deps, user.id)).toEqual([done.passkey]);
    const stored = parseDocument((await h.deps.users.getById(user.id))!.secondFactor).passkeys[0]!;
    expect(stored).toMatchObject({ counter: 0, transports: ['internal'], deviceType: 'multiDevice' });
    expect(h.events.filter((e) => e.event === 'passkey.registered')).toEqual([
      {
        event: 'passkey.registered',
        userId: user.id,
        passkey: done.passkey.id,
        deviceType: 'multiDevice',
        recoveryCodes: true,
      },
    ]);

    const again = await beginPasskeyRegistration(h.deps, h.post(), session);
    if (!again.ok) throw new Error(again.error);
    expect(again.options.excludeCredentials).toEqual([
      { id: done.passkey.id, transports: ['internal'], type: 'public-key' },
    ]);
    const second = await h.register(session, { backupEligible: false });
    expect(second.passkey).toMatchObject({ name: 'Passkey 2', deviceType: 'singleDevice', backedUp: false });
  });

  test('outside the re-auth window: reauth_required, for begin and finish', async () => {
    h = passkeyHarness(backend);
    const { session } = await h.signedInUser('alice');
    const begun = await beginPasskeyRegistration(h.deps, h.post(), session);
    if (!begun.ok) throw new Error(begun.error);
    const response = h.authenticator.register(begun.options as CreationOptionsJSON);
    h.clock.advance(10 * 60_000);
    expect(await beginPasskeyRegistration(h.deps, h.post(), session)).toMatchObject({
      error: 'reauth_required',
    });
    expect(await finishPasskeyRegistration(h.deps, h.post(), session, { response })).toMatchObject({
      error: 'reauth_required',
    });
  });

  test('a bad name is refused before the challenge is used: the same response then registers', async () => {
    h = passkeyHarness(backend);
    const { session } = await h.signedInUser('alice');
    const begun = await beginPasskeyRegistration(h.deps, h.post(), session);
    if (!begun.ok) throw new Error(begun.error);
    const response = h.authenticator.register(begun.options as CreationOptionsJSON);
    for (const name of ['x'.repeat(65), '   ', 'a\u202eb', 42]) {
      expect(await finishPasskeyRegistration(h.deps, h.post(), session, { response, name })).toMatchObject({
        error: 'invalid',
        field: 'name',
      });
    }
    const done = await finishPasskeyRegistration(h.deps, h.post(), session, {
      response,
      name: 'é'.repeat(64),
    });
    expect(done.ok).toBe(true);
  });

  test('a credential id the user has already is refused (invalid_passkey)', async () => {
    h = passkeyHarness(backend);
    const { session } = await h.signedInUser('alice');
    const first = await h.register(session);
    const begun = await beginPasskeyRegistration(h.deps, h.post(), session);
    if (!begun.ok) throw new Error(begun.error);
    // Attestation none signs nothing: anyone can claim any id with a key of their own.
    const response = withCredentialId(
      h.authenticator.register(begun.options as CreationOptionsJSON),
      first.passkey.id,
    );
    expect(await finishPasskeyRegistration(h.deps, h.post(), session, { response })).toMatchObject({
      ok: false,
      error: 'invalid_passkey',
    });
    const stored = parseDocument((await h.deps.users.getById(session.userId))!.secondFactor).passkeys;
    expect(stored.map((p) => p.id)).toEqual([first.passkey.id]);
  });

  test(`at most ${MAX_PASSKEYS} passkeys: the next begin is refused (invalid, field passkeys)`, async () => {
    h = passkeyHarness(backend);
    const { session } = await h.signedInUser('alice');
    for (let i = 0; i < MAX_PASSKEYS; i++) await h.register(session);
    expect(await beginPasskeyRegistration(h.deps, h.post(), session)).toMatchObject({
      ok: false,
      error: 'invalid',
      field: 'passkeys',
    });
  });
});

/** The registration response with its credential id (in the authenticator data too) replaced by `id`. */
function withCredentialId(response: RegistrationResponseJSON, id: string): RegistrationResponseJSON {
  const attestation = decodeCBOR(
    new Uint8Array(Buffer.from(response.response.attestationObject, 'base64url')),
  ) as Map<string, unknown>;
  const authData = Buffer.from(attestation.get('authData') as Uint8Array);
  const wanted = Buffer.from(id, 'base64url');
  // rpIdHash 32, flags 1, counter 4, AAGUID 16, then the id's length (2) and the id.
  expect(authData.readUInt16BE(53)).toBe(wanted.length);
  wanted.copy(authData, 55);
  attestation.set('authData', new Uint8Array(authData));
  const attestationObject = Buffer.from(encodeCBOR(attestation as Map<string, Uint8Array>)).toString(
    'base64url',
  );
  return { ...response, id, rawId: id, response: { ...response.response, attestationObject } };
}
