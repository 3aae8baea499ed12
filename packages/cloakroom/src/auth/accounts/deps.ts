import type { Clock } from '../../core/clock.js';
import type { Sessions } from '../../core/sessions.js';
import type { AuditSink } from '../audit.js';
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
 * - `closed`: the first-run set-up is used, expired or no longer needed — 404
 */
export type AccountFailure =
  | { ok: false; error: 'invalid'; field: string; message: string }
  | { ok: false; error: 'taken'; field: 'username'; message: string }
  | {
      ok: false;
      error: 'not_found' | 'last_admin' | 'wrong_password' | 'conflict' | 'closed';
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

export const lastAdmin: AccountFailure = {
  ok: false,
  error: 'last_admin',
  message:
    'This would leave no unlocked admin, and nobody could administer users; add or unlock another admin first.',
};

/** The role whose last unlocked holder cannot be demoted or locked. */
export const ADMIN_ROLE = 'admin';
