import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { createKeyring } from '../../core/keyring.js';
import { nodeCrypto } from '../../core/node-crypto.js';

/** HKDF `info` labels: these keys are of their own purpose, never a MAC key of the keyring (ASVS 11.1). */
const KEY_LABEL = 'cloakroom/v1/second-factor-secret-box';
const KEY_ID_LABEL = 'cloakroom/v1/second-factor-key-id';
const VERSION = 'v1';
/** 96-bit nonces: GCM's native size (NIST SP 800-38D, 8.2). Random per seal: a few million seals per key stay far below the 2^32 limit. */
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** 6 bytes, 8 characters: enough to tell the keyring's at most 8 keys apart. */
const KEY_ID_BYTES = 6;

/**
 * Encrypts small secrets at rest (TOTP keys) with AES-256-GCM under keys derived from the
 * keyring's secrets. The newest secret seals; every secret still in the list opens, so a sealed
 * text stays readable across a secret rotation until its secret is removed.
 */
export interface SecretBox {
  /**
   * `v1.<key id>.<iv>.<ciphertext and tag>` (base64url parts). `context` (the user id) is bound
   * as associated data: a sealed secret copied into another user's record does not open.
   */
  seal(plain: Uint8Array, context: string): string;
  /** The plain bytes, or `null` if no key of the keyring made it, it was changed, or `context` differs. */
  open(sealed: string, context: string): Uint8Array | null;
  /**
   * The same secret sealed under the newest key, when `sealed` was made by an older one (and
   * opens); else `null`. Callers write it back when they write anyway, so secrets move to the
   * newest key as they are used, and an old secret can leave the keyring once every second
   * factor has been used since the rotation.
   */
  reseal(sealed: string, context: string): string | null;
}

interface BoxKey {
  id: string;
  key: Buffer;
}

const derive = (secret: string, info: string, length: number) =>
  Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), info, length));

/**
 * Builds the box from the keyring's secrets, newest first. The keyring's rules for secrets apply
 * (and throw `ConfigError` naming `option`): at least one, strong, distinct, at most eight.
 * @example
 * const box = createSecretBox(process.env.CLOAKROOM_SECRETS!.split(','));
 */
export function createSecretBox(secrets: readonly string[], option = 'secrets'): SecretBox {
  createKeyring(secrets, nodeCrypto, option);
  const keys: BoxKey[] = secrets.map((secret) => ({
    // The key id is derived under a label of its own: it names the key without revealing it.
    id: derive(secret, KEY_ID_LABEL, KEY_ID_BYTES).toString('base64url'),
    key: derive(secret, KEY_LABEL, 32),
  }));
  const aad = (keyId: string, context: string) => Buffer.from(`${VERSION}.${keyId}.${context}`, 'utf8');

  const box: SecretBox = {
    seal(plain, context) {
      const { id, key } = keys[0]!;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(id, context));
      const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return [VERSION, id, iv.toString('base64url'), body.toString('base64url')].join('.');
    },
    open(sealed, context) {
      const parts = sealed.split('.');
      if (parts.length !== 4 || parts[0] !== VERSION) return null;
      const [, keyId, ivText, bodyText] = parts as [string, string, string, string];
      const found = keys.find((k) => k.id === keyId);
      if (!found) return null;
      const iv = Buffer.from(ivText, 'base64url');
      const body = Buffer.from(bodyText, 'base64url');
      if (iv.length !== IV_BYTES || body.length < TAG_BYTES) return null;
      const decipher = createDecipheriv('aes-256-gcm', found.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(keyId, context));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      try {
        const plain = Buffer.concat([
          decipher.update(body.subarray(0, body.length - TAG_BYTES)),
          decipher.final(),
        ]);
        return new Uint8Array(plain);
      } catch {
        // GCM's tag did not verify: changed text, wrong key or wrong context.
        return null;
      }
    },
    reseal(sealed, context) {
      if (sealed.split('.')[1] === keys[0]!.id) return null;
      const plain = box.open(sealed, context);
      return plain ? box.seal(plain, context) : null;
    },
  };
  return box;
}
