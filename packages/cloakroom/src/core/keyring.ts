import type { SessionCrypto } from './crypto.js';
import { ConfigError } from './errors.js';
import { secretWeakness } from './secret-strength.js';

/** Purposes get separate keys (ASVS 11.1): a session MAC is never a valid CSRF MAC. */
export type KeyPurpose =
  | 'session'
  | 'login-csrf'
  | 'pending-sign-in'
  | 'passkey-ceremony'
  | 'dbsc-registration'
  | 'dbsc-bound';

/** How many secrets the keyring holds at most: verification tries each, so the list stays short. */
export const MAX_SECRETS = 8;

/**
 * An ordered keyring: the newest secret signs, every secret verifies (iron-session style).
 * Keys are derived per purpose once, at construction; the per-request path only runs HMACs.
 */
export interface Keyring {
  /** Signature of `data` under the newest key for `purpose`. */
  sign(purpose: KeyPurpose, data: string): Uint8Array;
  /**
   * Index of the key that made `signature` (0 = newest), or -1 if none did. Every key is
   * compared in constant time.
   */
  verify(purpose: KeyPurpose, data: string, signature: Uint8Array): number;
  /** Number of secrets (for diagnostics; never the secrets themselves). */
  readonly size: number;
}

const LABELS: Record<KeyPurpose, string> = {
  session: 'cloakroom/v1/session-cookie',
  'login-csrf': 'cloakroom/v1/login-csrf',
  'pending-sign-in': 'cloakroom/v1/pending-sign-in',
  'passkey-ceremony': 'cloakroom/v1/passkey-ceremony',
  'dbsc-registration': 'cloakroom/v1/dbsc-registration',
  'dbsc-bound': 'cloakroom/v1/dbsc-bound-cookie',
};

/**
 * Builds the keyring. Throws {@link ConfigError} naming `option` if a secret is missing,
 * weak, duplicated, or there are more than {@link MAX_SECRETS}.
 * @example
 * const keyring = createKeyring(process.env.CLOAKROOM_SECRETS!.split(','), nodeCrypto);
 */
export function createKeyring(
  secrets: readonly string[],
  crypto: SessionCrypto,
  option = 'secrets',
): Keyring {
  if (secrets.length === 0) {
    throw new ConfigError(
      option,
      'at least one secret is required; generate one with `npx cloakroom-server secret new`',
    );
  }
  if (secrets.length > MAX_SECRETS) {
    throw new ConfigError(
      option,
      `at most ${MAX_SECRETS} secrets; retire old ones after one absolute lifetime`,
    );
  }
  secrets.forEach((secret, i) => {
    const weakness = secretWeakness(secret);
    if (weakness) {
      throw new ConfigError(
        option,
        `secret #${i + 1} ${weakness}; generate one with \`npx cloakroom-server secret new\``,
      );
    }
    if (secrets.indexOf(secret) !== i)
      throw new ConfigError(option, `secret #${i + 1} repeats an earlier one`);
  });
  const encoder = new TextEncoder();
  const derive = (purpose: KeyPurpose) =>
    secrets.map((secret) => crypto.hmacSha256(encoder.encode(secret), LABELS[purpose]));
  const keys: Record<KeyPurpose, Uint8Array[]> = {
    session: derive('session'),
    'login-csrf': derive('login-csrf'),
    'pending-sign-in': derive('pending-sign-in'),
    'passkey-ceremony': derive('passkey-ceremony'),
    'dbsc-registration': derive('dbsc-registration'),
    'dbsc-bound': derive('dbsc-bound'),
  };

  return {
    size: secrets.length,
    sign(purpose, data) {
      return crypto.hmacSha256(keys[purpose][0]!, data);
    },
    verify(purpose, data, signature) {
      const list = keys[purpose];
      for (let i = 0; i < list.length; i++) {
        if (crypto.timingSafeEqual(crypto.hmacSha256(list[i]!, data), signature)) return i;
      }
      return -1;
    },
  };
}
