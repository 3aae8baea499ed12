import { afterEach, describe, expect, test } from 'vitest';
import { completeSignIn } from '../../packages/cloakroom/src/auth/accounts/index.js';
import { createSecretBox } from '../../packages/cloakroom/src/auth/second-factor/secret-box.js';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';
import { SECRET_A, SECRET_B, SECRET_C } from '../support/core.js';
import { type Harness, harness, instance } from './second-factor-harness.js';

/*
 * TOTP keys are encrypted at rest (AES-256-GCM) under keys derived from the keyring's secrets:
 * the newest seals, every secret still listed opens, so a rotation (a new secret in front) keeps
 * every enrolled user's key readable until the old secret is removed. GCM's tag refuses any
 * change to the text, and the user id bound as associated data refuses a key moved to another
 * user.
 */

const KEY = new Uint8Array(20).map((_, i) => i + 1);

describe('the secret box', () => {
  test('opens what it sealed; the text holds neither the key nor the secret', () => {
    const box = createSecretBox([SECRET_A]);
    const sealed = box.seal(KEY, 'user-1');
    expect(sealed).toMatch(/^v1\.[\w-]{8}\.[\w-]{16}\.[\w-]+$/);
    expect(box.open(sealed, 'user-1')).toEqual(KEY);
    expect(sealed).not.toContain(Buffer.from(KEY).toString('base64url'));
    // A fresh nonce per seal: the same key never seals to the same text.
    expect(box.seal(KEY, 'user-1')).not.toBe(sealed);
  });

  test('after a rotation (new secret first) old texts open, and new texts are sealed by the new secret', () => {
    const sealed = createSecretBox([SECRET_A]).seal(KEY, 'user-1');
    const rotated = createSecretBox([SECRET_B, SECRET_A]);
    expect(rotated.open(sealed, 'user-1')).toEqual(KEY);
    const resealed = rotated.seal(KEY, 'user-1');
    expect(resealed.split('.')[1]).not.toBe(sealed.split('.')[1]);
    expect(createSecretBox([SECRET_B]).open(resealed, 'user-1')).toEqual(KEY);
  });

  test('once the old secret is removed, its texts no longer open', () => {
    const sealed = createSecretBox([SECRET_A]).seal(KEY, 'user-1');
    expect(createSecretBox([SECRET_B, SECRET_C]).open(sealed, 'user-1')).toBeNull();
  });

  test('a changed text, a changed key id or another user does not open', () => {
    const box = createSecretBox([SECRET_A, SECRET_B]);
    const sealed = box.seal(KEY, 'user-1');
    const [v, kid, iv, body] = sealed.split('.') as [string, string, string, string];
    const flipped = Buffer.from(body, 'base64url');
    flipped[0]! ^= 1;
    expect(box.open([v, kid, iv, flipped.toString('base64url')].join('.'), 'user-1')).toBeNull();
    const otherKid = createSecretBox([SECRET_B]).seal(KEY, 'user-1').split('.')[1]!;
    expect(box.open([v, otherKid, iv, body].join('.'), 'user-1')).toBeNull();
    expect(box.open(sealed, 'user-2')).toBeNull();
    expect(box.open('v1.garbage', 'user-1')).toBeNull();
  });

  test('the keyring rules apply to its secrets', () => {
    expect(() => createSecretBox([])).toThrow(ConfigError);
    expect(() => createSecretBox(['short'])).toThrow(ConfigError);
    expect(() => createSecretBox([SECRET_A, SECRET_A])).toThrow(ConfigError);
  });
});

describe('an enrolled user across a secret rotation', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  test('signs in with a code after the rotation, and that sign-in re-seals the key under the new secret', async () => {
    h = harness('sqlite');
    const { user, key } = await h.enrol('alice');
    expect(user.secondFactor).not.toContain(key);
    const keyIdOf = async () =>
      JSON.parse((await h.stores.users.getById(user.id))!.secondFactor!).totp.secret.split('.')[1];
    const before = await keyIdOf();
    const rotated = instance(h.stores, h.clock, { secrets: [SECRET_B, SECRET_A] });
    expect((await completeSignIn(rotated.deps, h.pendingFor(user, rotated), { code: h.code(key) })).ok).toBe(
      true,
    );
    const after = await keyIdOf();
    expect(after).not.toBe(before);
    expect(after).toBe(createSecretBox([SECRET_B]).seal(KEY, 'x').split('.')[1]);
    // The old secret can go: the key it sealed was sealed again under the new one.
    h.clock.advance(30_000);
    const retired = instance(h.stores, h.clock, { secrets: [SECRET_B] });
    expect((await completeSignIn(retired.deps, h.pendingFor(user, retired), { code: h.code(key) })).ok).toBe(
      true,
    );
  });

  test('a key not used since the rotation is unreadable once the old secret is gone (a clear error, never "no second factor")', async () => {
    h = harness('sqlite');
    const { user, key } = await h.enrol('alice');
    h.clock.advance(30_000);
    const retired = instance(h.stores, h.clock, { secrets: [SECRET_B] });
    await expect(
      completeSignIn(retired.deps, h.pendingFor(user, retired), { code: h.code(key) }),
    ).rejects.toThrow(/cannot be decrypted/);
  });
});
