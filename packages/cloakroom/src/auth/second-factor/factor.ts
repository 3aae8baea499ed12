import type { CounterStore } from '../types.js';
import { createSecretBox, type SecretBox } from './secret-box.js';

/** Options of {@link createSecondFactor}. */
export interface SecondFactorOptions {
  /** The keyring's secrets, newest first (the same list the sessions are given). */
  secrets: readonly string[];
  /** The counter store every instance shares: a pending sign-in is used up there, once. */
  counters: CounterStore;
  /** The name authenticator apps show next to the account. Default `cloakroom`. */
  issuer?: string;
}

/** What the second-factor use cases need besides the account deps. */
export interface SecondFactor {
  /** Seals TOTP keys at rest. */
  readonly box: SecretBox;
  readonly counters: CounterStore;
  readonly issuer: string;
}

/**
 * Resolves the second-factor options once (start-up): derives the secret box's keys and checks
 * the issuer name.
 * @example
 * const secondFactor = createSecondFactor({ secrets, counters: store.counters, issuer: 'Acme' });
 */
export function createSecondFactor(options: SecondFactorOptions): SecondFactor {
  const issuer = options.issuer ?? 'cloakroom';
  // The issuer goes into the otpauth URI's label; a colon there would split it (Key URI Format).
  if (issuer.trim() === '' || issuer.length > 64 || issuer.includes(':')) {
    throw new TypeError('createSecondFactor: issuer must be 1–64 characters without a colon');
  }
  return { box: createSecretBox(options.secrets), counters: options.counters, issuer };
}
