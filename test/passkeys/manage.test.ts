import { afterEach, describe, expect, test } from 'vitest';
import { parseDocument } from '../../packages/cloakroom/src/auth/second-factor/document.js';
import { listPasskeys, removePasskey, renamePasskey } from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS } from '../auth/second-factor-harness.js';
import { type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * Listing, renaming and removing passkeys: a user acts only on their own, removal needs a recent
 * proof, and the last passkey of a user without TOTP takes the recovery codes with it.
 */

describe.each(BACKENDS)('managing passkeys on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  test('list shows name, times and flags, never the key or the counter', async () => {
    h = passkeyHarness(backend);
    const { user, session } = await h.signedInUser('alice');
    await h.register(session, { name: 'Phone' });
    h.clock.advance(1000);
    await h.register(session, { name: 'Key', backupEligible: false });
    const list = await listPasskeys(h.deps, user.id);
    expect(list.map((p) => Object.keys(p).sort())).toEqual([
      ['backedUp', 'createdAt', 'deviceType', 'id', 'lastUsedAt', 'name'],
      ['backedUp', 'createdAt', 'deviceType', 'id', 'lastUsedAt', 'name'],
    ]);
    expect(list.map((p) => [p.name, p.deviceType])).toEqual([
      ['Phone', 'multiDevice'],
      ['Key', 'singleDevice'],
    ]);
    expect(await listPasskeys(h.deps, 'no-such-user')).toEqual([]);
  });

  test('rename: trimmed, checked, audited once; another user’s id is not_found', async () => {
    h = passkeyHarness(backend);
    const { user, session } = await h.signedInUser('alice');
    const { passkey } = await h.register(session);
    const bob = await h.withPasskey('bob');
    const renamed = await renamePasskey(h.deps, user.id, passkey.id, '  Laptop ');
    expect(renamed).toMatchObject({ ok: true, passkey: { id: passkey.id, name: 'Laptop' } });
    expect(await renamePasskey(h.deps, user.id, passkey.id, 'Laptop')).toMatchObject({ ok: true });
    expect(h.events.filter((e) => e.event === 'passkey.renamed')).toEqual([
      { event: 'passkey.renamed', userId: user.id, passkey: passkey.id },
    ]);
    expect(await renamePasskey(h.deps, user.id, passkey.id, '')).toMatchObject({
      error: 'invalid',
      field: 'name',
    });
    const bobsId = h.authenticator.credentials[1]!.id;
    expect(await renamePasskey(h.deps, user.id, bobsId, 'Mine now')).toMatchObject({ error: 'not_found' });
    expect((await listPasskeys(h.deps, bob.user.id))[0]!.name).toBe('Passkey 1');
  });

  test('remove needs a recent proof; then it is gone and audited', async () => {
    h = passkeyHarness(backend);
    const { user, session } = await h.withPasskey('alice');
    const id = h.authenticator.credentials[0]!.id;
    h.clock.advance(10 * 60_000);
    expect(await removePasskey(h.deps, session, id)).toMatchObject({ error: 'reauth_required' });
    expect(await listPasskeys(h.deps, user.id)).toHaveLength(1);
    const fresh = await h.sessionFor(user);
    expect(await removePasskey(h.deps, fresh, 'no-such-id')).toMatchObject({ error: 'not_found' });
    expect(await removePasskey(h.deps, fresh, id)).toEqual({ ok: true });
    expect(await listPasskeys(h.deps, user.id)).toEqual([]);
    expect(h.events.filter((e) => e.event === 'passkey.removed')).toEqual([
      { event: 'passkey.removed', userId: user.id, passkey: id, left: 0 },
    ]);
  });

  test('the last passkey of a user without TOTP takes the recovery codes along; with TOTP they stay', async () => {
    h = passkeyHarness(backend);
    const { user, session } = await h.withPasskey('alice');
    const second = await h.register(session);
    const first = h.authenticator.credentials[0]!.id;
    const doc = async (id: string) => parseDocument((await h.deps.users.getById(id))!.secondFactor);
    expect(await removePasskey(h.deps, session, first)).toEqual({ ok: true });
    expect((await doc(user.id)).recoveryCodes).toHaveLength(10);
    expect(await removePasskey(h.deps, session, second.passkey.id)).toEqual({ ok: true });
    expect((await h.deps.users.getById(user.id))!.secondFactor).toBeNull();
    expect((await h.passwordStep('alice')).ok).toBe(true);

    const totp = await h.enrol('bob');
    const fresh = await h.sessionFor(totp.user);
    const added = await h.register(fresh);
    expect(added.recoveryCodes).toBeNull();
    expect(await removePasskey(h.deps, fresh, added.passkey.id)).toEqual({ ok: true });
    expect((await doc(totp.user.id)).recoveryCodes).toHaveLength(10);
  });
});
