import type { Clock } from '../../core/clock.js';
import type { Sessions } from '../../core/sessions.js';
import type { Passkeys } from '../../passkeys/config.js';
import type { AuditSink } from '../audit.js';
import type { SecondFactor } from '../second-factor/factor.js';
import type { Throttle } from '../throttle.js';
import type { PasswordHasher, UserRecord, UserStore } from '../types.js';

/** What every account action needs. Built once (server start-up, one CLI command). */
export interface AccountDeps {
  users: UserStore;
  sessions: Sessions;
  passwords: PasswordHasher;
  throttle: Throttle;
  audit: AuditSink;
  /** Default: the system clock. */
  clock?: Clock;
  /**
   * The second factor (TOTP, recovery codes, recovery links): from `createSecondFactor`. The
   * actions that need it throw a `TypeError` without it.
   */
  secondFactor?: SecondFactor;
  /**
   * Passkeys (WebAuthn): from `createPasskeys` of `cloakroom/passkeys`, whose use cases throw a
   * `TypeError` without it. Only a type here: the main entry never loads the WebAuthn library.
   */
  passkeys?: Passkeys;
}

/**
 * Why an account action changed nothing. `message` is a sentence for the person who asked;
 * callers branch on `error` (and `field`), never on the text.
 * - `invalid`: the input breaks a rule (`field` names it) — 400
 * - `taken`: the username, or one that looks like it, exists — 409
 * - `not_found`: no such user or session — 404
 * - `last_admin`: the change would leave no unlocked admin — 409
 * - `wrong_password`: the current password does not match — 401
 * - `throttled`: too many failures; retry after `retryAfterSeconds` — 429
 * - `conflict`: the account changed while this action ran; nothing was written — 409
 * - `closed`: the first-run set-up (or a recovery link) is used, expired or no longer valid — 404
 * - `reauth_required`: the session's last proof of a factor is older than the re-auth window — 403
 * - `invalid_code`: a wrong, used, malformed or missing second-factor code — 401
 * - `pending_expired`: no pending sign-in, or it expired, was used, or the account changed — 401
 * - `not_enrolled` / `already_enrolled`: the second factor is off / on already — 409
 * - `invalid_passkey`: a passkey response that does not verify (signature, origin, RP ID, user
 *   verification, unknown or locked account, a cloned authenticator, a duplicate) — 401 (400
 *   when registering)
 * - `ceremony_expired`: the challenge of a passkey ceremony is unknown, used, expired, or was
 *   issued to another session, pending sign-in or browser — 401 (400 when registering)
 */
export type AccountFailure =
  | { ok: false; error: 'invalid'; field: string; message: string }
  | { ok: false; error: 'taken'; field: 'username'; message: string }
  | {
      ok: false;
      error:
        | 'not_found'
        | 'last_admin'
        | 'wrong_password'
        | 'conflict'
        | 'closed'
        | 'reauth_required'
        | 'invalid_code'
        | 'pending_expired'
        | 'not_enrolled'
        | 'already_enrolled'
        | 'invalid_passkey'
        | 'ceremony_expired';
      message: string;
    }
  | { ok: false; error: 'throttled'; retryAfterSeconds: number; message: string };

/** The outcome of an action on one user: the user as stored afterwards, and whether anything changed. */
export type UserChange<Extra = object> =
  | ({ ok: true; user: UserRecord; changed: boolean } & Extra)
  | AccountFailure;

/** A rule's message fragment (`password must be …`) as a sentence for a person (`Password must be ….`). */
export const sentence = (fragment: string): string =>
  `${fragment.charAt(0).toUpperCase()}${fragment.slice(1)}.`;

export const invalid = (field: string, message: string): AccountFailure => ({
  ok: false,
  error: 'invalid',
  field,
  message,
});

export const noSuchUser: AccountFailure = { ok: false, error: 'not_found', message: 'No such user.' };

export const reauthRequired: AccountFailure = {
  ok: false,
  error: 'reauth_required',
  message: 'Confirm it is you: sign in again (password, and code if you use one) to do this.',
};

export const lastAdmin: AccountFailure = {
  ok: false,
  error: 'last_admin',
  message:
    'This would leave no unlocked admin, and nobody could administer users; add or unlock another admin first.',
};

/** The role whose last unlocked holder cannot be demoted or locked. */
export const ADMIN_ROLE = 'admin';
