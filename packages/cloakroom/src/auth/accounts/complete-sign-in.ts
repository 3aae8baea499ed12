import { systemClock } from '../../core/clock.js';
import type { PendingSignIn } from '../../core/pending.js';
import type { IncomingRequest } from '../../core/request.js';
import type { Issued } from '../../core/sessions.js';
import {
  type CodeInput,
  invalidCode,
  proveSecondFactor,
  readProof,
  requireSecondFactor,
} from '../second-factor/proof.js';
import type { CounterStore, UserRecord } from '../types.js';
import { toUser, type User } from '../users.js';
import type { AccountDeps, AccountFailure } from './deps.js';

/** A finished two-step sign-in. */
export type SignInCompleted = {
  ok: true;
  user: User;
  /** The new session; `setCookie` also clears the pending cookie. */
  issued: Issued;
  usedRecoveryCode: boolean;
  recoveryCodesLeft: number;
};

export const pendingExpired: AccountFailure = {
  ok: false,
  error: 'pending_expired',
  message: 'The sign-in expired or was already finished; sign in again.',
};

/** The counter that marks a pending state used: whatever second factor finishes it counts it once. */
export const usedKey = (pending: PendingSignIn) => `pending:${pending.nonce}`;

/** Locked, or the epoch moved (password change, lock, "sign out everywhere") since the password step. */
export const changedSince = (pending: PendingSignIn) => (user: UserRecord) =>
  user.locked || user.epoch !== pending.epoch ? pendingExpired : null;

/**
 * Marks the pending state used, in the counter store every instance shares (kept until the
 * state itself expires: after that, readPending refuses it anyway). `true` for the one call
 * that counted it first: one pending state, one session, whichever factor finished it.
 */
export async function usePending(
  counters: CounterStore,
  pending: PendingSignIn,
  now: () => number,
): Promise<boolean> {
  const used = await counters.increment(
    usedKey(pending),
    Math.max(1, pending.expiresAt - now()) + 1000,
    now(),
  );
  return used.count === 1;
}

/**
 * The end every second factor shares once the pending state is used: the session (with the
 * pending state's epoch and `remember`, and the methods proved), one more look at the account
 * like `signIn` takes (a lock or password change that landed meanwhile ends it at once), and the
 * pending cookie cleared. `null` when the account changed: the caller answers `pendingExpired`.
 */
export async function issueAfterPending(
  deps: AccountDeps,
  request: IncomingRequest,
  pending: PendingSignIn,
  methods: string[],
): Promise<{ issued: Issued; user: UserRecord } | null> {
  const issued = await deps.sessions.create(request, {
    userId: pending.userId,
    remember: pending.remember,
    epoch: pending.epoch,
    methods,
  });
  const after = await deps.users.getById(pending.userId);
  if (!after || changedSince(pending)(after)) {
    await deps.sessions.end(issued.session);
    return null;
  }
  issued.setCookie.push(...deps.sessions.clearPending(request));
  return { issued, user: after };
}

/**
 * The second step of a sign-in: the pending state `signIn` issued (its own signed cookie, five
 * minutes), then a TOTP code or a recovery code. In this order: the pending state (MAC, expiry,
 * not used yet); the code throttle of the account; the account as it is now (unlocked, same epoch
 * as at the password step); the code, used up in the same compare-and-set; the pending state
 * used up (a counter every instance shares must count 1: one pending state, one session); then
 * the session, methods `pwd` and `otp` (a recovery code is a one-time password too), and one
 * more look at the account like `signIn` takes. Audited as `login.second-factor`.
 */
export async function completeSignIn(
  deps: AccountDeps,
  request: IncomingRequest,
  input: CodeInput,
): Promise<SignInCompleted | AccountFailure> {
  const { counters } = requireSecondFactor(deps);
  const proof = readProof(input);
  if (proof === null) return invalidCode;
  if ('ok' in proof) return proof;
  const pending = deps.sessions.readPending(request);
  if (!pending) return pendingExpired;
  const now = () => (deps.clock ?? systemClock).now();
  // A cheap early refusal for a state already used: the increment below is what guarantees it.
  if (await counters.get(usedKey(pending), now())) return pendingExpired;

  const proven = await proveSecondFactor(deps, request, pending.userId, proof, {
    refuseUser: changedSince(pending),
  });
  if (!proven.ok)
    return proven.error === 'not_found' || proven.error === 'not_enrolled' ? pendingExpired : proven;

  if (!(await usePending(counters, pending, now))) return pendingExpired;

  const done = await issueAfterPending(deps, request, pending, ['pwd', 'otp']);
  if (!done) return pendingExpired;
  const { issued, user: after } = done;
  deps.audit('login.second-factor', {
    userId: after.id,
    session: issued.session.id,
    method: proven.method,
    ip: request.ip,
    remember: pending.remember,
  });
  return {
    ok: true,
    user: toUser(after),
    issued,
    usedRecoveryCode: proven.method === 'recovery-code',
    recoveryCodesLeft: proven.recoveryCodesLeft,
  };
}
