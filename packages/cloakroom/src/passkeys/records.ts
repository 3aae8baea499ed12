import type { AccountDeps, AccountFailure } from '../auth/accounts/deps.js';
import { invalid, sentence } from '../auth/accounts/deps.js';
import type { PasskeyDeviceType, PasskeyRecord } from '../auth/second-factor/document.js';
import { AccountError, checkVisibleName } from '../auth/users.js';
import type { Passkeys } from './config.js';

/** How many passkeys one user may hold: enough for every device, few enough to list and offer. */
export const MAX_PASSKEYS = 20;
/** The longest passkey name, in characters. */
export const MAX_PASSKEY_NAME = 64;

/** What a user (or a page) may know of one passkey: never the key or the counter. */
export interface PasskeyInfo {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  /** Whether it is backed up (synced), as it said when last used. */
  backedUp: boolean;
  /** `multiDevice`: a synced passkey; `singleDevice`: bound to one authenticator. */
  deviceType: PasskeyDeviceType;
}

export const toInfo = (record: PasskeyRecord): PasskeyInfo => ({
  id: record.id,
  name: record.name,
  createdAt: record.createdAt,
  lastUsedAt: record.lastUsedAt,
  backedUp: record.backedUp,
  deviceType: record.deviceType,
});

/** A passkey's name as given (1–64 visible characters, trimmed), or the `invalid` failure. */
export function checkPasskeyName(value: unknown): string | AccountFailure {
  try {
    return checkVisibleName(value, 'name', MAX_PASSKEY_NAME);
  } catch (error) {
    if (error instanceof AccountError) return invalid(error.field, sentence(error.message));
    throw error;
  }
}

export const invalidPasskey: AccountFailure = {
  ok: false,
  error: 'invalid_passkey',
  message: 'That passkey could not be verified for this account.',
};

export const ceremonyExpired: AccountFailure = {
  ok: false,
  error: 'ceremony_expired',
  message: 'The passkey request expired or was already used; start again.',
};

export const noPasskeys: AccountFailure = {
  ok: false,
  error: 'not_enrolled',
  message: 'This account has no passkey.',
};

/**
 * The relying party, or a TypeError: a use case that needs it was called without it (misuse).
 * `deps.secondFactor` is required as well: a user's first passkey comes with recovery codes, and
 * only `completeSignIn` with it can take one; without it they would be handed out unusable.
 */
export function requirePasskeys(deps: AccountDeps): Passkeys {
  if (!deps.passkeys) {
    throw new TypeError('this account action needs deps.passkeys (createPasskeys({ origins, counters }))');
  }
  if (!deps.secondFactor) {
    throw new TypeError(
      'passkeys need deps.secondFactor as well (createSecondFactor({ secrets, counters })): it takes the recovery codes a first passkey comes with',
    );
  }
  return deps.passkeys;
}

/** The credentials a browser may offer or must not make again: ids and their transports. */
export const descriptorsOf = (records: readonly PasskeyRecord[]) =>
  records.map((r) => ({ id: r.id, transports: r.transports }));
