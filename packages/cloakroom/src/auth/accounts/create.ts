import { systemClock } from '../../core/clock.js';
import type { Actor } from '../audit.js';
import type { UserRecord } from '../types.js';
import { AccountError, type NewAccount, prepareAccount, storeAccount } from '../users.js';
import { type AccountDeps, type AccountFailure, ADMIN_ROLE, invalid, sentence } from './deps.js';

function refusal(error: unknown): AccountFailure {
  if (!(error instanceof AccountError)) throw error;
  return error.code === 'taken'
    ? { ok: false, error: 'taken', field: 'username', message: sentence(error.message) }
    : invalid(error.field, sentence(error.message));
}

/**
 * Creates a user: canonical username (refused if it, or a look-alike of it, exists), the
 * password policy, roles normalised, an argon2id hash. Audited as `user.created`.
 */
export async function createUser(
  deps: AccountDeps,
  input: NewAccount,
  by: Actor,
): Promise<{ ok: true; user: UserRecord } | AccountFailure> {
  const prepared = prepareAccount(input);
  if (!('usernameKey' in prepared)) return invalid(prepared.field, sentence(prepared.message));
  let user: UserRecord;
  try {
    user = await storeAccount(deps.users, deps.passwords, prepared, (deps.clock ?? systemClock).now());
  } catch (error) {
    return refusal(error);
  }
  deps.audit('user.created', { userId: user.id, username: user.username, roles: user.roles, by });
  return { ok: true, user };
}

/**
 * A claim on a single-use permission (the first-run set-up link): `null` if it is used or
 * expired, else a function that gives it back.
 */
export type Claim = () => (() => void) | null;

/**
 * Creates the first admin, only while no user exists. With `claim` (the set-up link), the claim
 * is taken after the input passed every rule and before any slow work (the store, the hash), so
 * of N parallel attempts exactly one proceeds; it is given back only if the store fails. Audited
 * as `admin.bootstrapped` with `via`.
 */
export async function bootstrapAdmin(
  deps: AccountDeps,
  input: Omit<NewAccount, 'roles'>,
  via: 'setup-link' | 'environment',
  claim?: Claim,
): Promise<{ ok: true; user: UserRecord } | AccountFailure> {
  const closed: AccountFailure = {
    ok: false,
    error: 'closed',
    message: 'Set-up is closed: a user exists already, or the link was used or has expired.',
  };
  const prepared = prepareAccount({ ...input, roles: [ADMIN_ROLE] });
  if (!('usernameKey' in prepared)) return invalid(prepared.field, sentence(prepared.message));
  const release = claim ? claim() : () => {};
  if (!release) return closed;
  let user: UserRecord;
  try {
    if ((await deps.users.count()) > 0) return closed;
    user = await storeAccount(deps.users, deps.passwords, prepared, (deps.clock ?? systemClock).now());
  } catch (error) {
    // Two instances bootstrapping from the environment race on the unique username: one wins.
    if (error instanceof AccountError && error.code === 'taken') return closed;
    release();
    throw error;
  }
  deps.audit('admin.bootstrapped', { userId: user.id, username: user.username, via });
  return { ok: true, user };
}
