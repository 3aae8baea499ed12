import { systemClock } from '../../core/clock.js';
import type { Actor } from '../audit.js';
import type { UpdateCondition, UserPatch, UserRecord } from '../types.js';
import { AccountError, checkDisplayName, normalizeRoles, ROLES_MESSAGE } from '../users.js';
import {
  type AccountDeps,
  type AccountFailure,
  ADMIN_ROLE,
  invalid,
  lastAdmin,
  noSuchUser,
  sentence,
  type UserChange,
} from './deps.js';

const sameRoles = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/**
 * Writes a patch. `guardAdmin`: the change takes an unlocked admin away (demotion or lock), so
 * it applies only while another unlocked admin exists — checked by the store in the same atomic
 * step as the write, so two admins demoting each other at once cannot both succeed.
 */
async function write(
  deps: AccountDeps,
  target: UserRecord,
  patch: UserPatch,
  guardAdmin: boolean,
): Promise<UserRecord | AccountFailure> {
  const condition: UpdateCondition = guardAdmin ? { keepRole: ADMIN_ROLE } : {};
  const updated = await deps.users.update(target.id, patch, (deps.clock ?? systemClock).now(), condition);
  if (updated) return updated;
  return (await deps.users.getById(target.id)) ? lastAdmin : noSuchUser;
}

const isUnlockedAdmin = (user: UserRecord) => !user.locked && user.roles.includes(ADMIN_ROLE);

/**
 * Sets a user's roles (normalised: `Admin` is `admin`). Refused if it would leave no unlocked
 * admin. Roles are read on every request, so the change applies to the user's very next one.
 * Audited as `role.changed` when the set of roles really changed.
 */
export async function setRoles(
  deps: AccountDeps,
  userId: string,
  roles: unknown,
  by: Actor,
): Promise<UserChange> {
  const next = normalizeRoles(roles);
  if (!next) return invalid('roles', sentence(ROLES_MESSAGE));
  const target = await deps.users.getById(userId);
  if (!target) return noSuchUser;
  if (sameRoles(target.roles, next)) return { ok: true, user: target, changed: false };
  const demotes = isUnlockedAdmin(target) && !next.includes(ADMIN_ROLE);
  const updated = await write(deps, target, { roles: next }, demotes);
  if (!('id' in updated)) return updated;
  deps.audit('role.changed', { userId, from: target.roles, to: updated.roles, by });
  return { ok: true, user: updated, changed: true };
}

/**
 * Locks a user: no sign-in, and every session ends at once — also one whose sign-in is in flight
 * right now (the credential epoch advances with the lock). Refused for the last unlocked admin.
 * Audited as `user.locked` when the user was not locked already.
 */
export async function lockUser(
  deps: AccountDeps,
  userId: string,
  by: Actor,
): Promise<UserChange<{ revokedSessions: number }>> {
  const target = await deps.users.getById(userId);
  if (!target) return noSuchUser;
  if (target.locked) return { ok: true, user: target, changed: false, revokedSessions: 0 };
  const updated = await write(deps, target, { locked: true, advanceEpoch: true }, isUnlockedAdmin(target));
  if (!('id' in updated)) return updated;
  const revokedSessions = await deps.sessions.revokeUser(userId);
  deps.audit('user.locked', { userId, revokedSessions, by });
  return { ok: true, user: updated, changed: true, revokedSessions };
}

/**
 * Unlocks a user and lifts a running sign-in lockout of the account (how an operator lets a
 * user back in). Sessions ended by the lock stay ended. Audited as `user.unlocked` when the user
 * was locked.
 */
export async function unlockUser(
  deps: AccountDeps,
  userId: string,
  by: Actor,
): Promise<UserChange<{ lockoutLifted: boolean }>> {
  const target = await deps.users.getById(userId);
  if (!target) return noSuchUser;
  let user = target;
  if (target.locked) {
    const updated = await write(deps, target, { locked: false }, false);
    if (!('id' in updated)) return updated;
    user = updated;
    deps.audit('user.unlocked', { userId, by });
  }
  const lockoutLifted = await deps.throttle.clear(target.username);
  return { ok: true, user, changed: target.locked, lockoutLifted };
}

/** Changes the display name (1–100 visible characters). Audited as `profile.updated` on a change. */
export async function updateProfile(
  deps: AccountDeps,
  userId: string,
  input: { displayName?: unknown },
): Promise<UserChange> {
  let displayName: string;
  try {
    displayName = checkDisplayName(input.displayName);
  } catch (error) {
    if (error instanceof AccountError) return invalid(error.field, sentence(error.message));
    throw error;
  }
  const target = await deps.users.getById(userId);
  if (!target) return noSuchUser;
  if (target.displayName === displayName) return { ok: true, user: target, changed: false };
  const updated = await write(deps, target, { displayName }, false);
  if (!('id' in updated)) return updated;
  deps.audit('profile.updated', { userId });
  return { ok: true, user: updated, changed: true };
}

/** What an admin may change about a user in one request. */
export interface UserUpdate {
  roles?: unknown;
  locked?: boolean;
  displayName?: unknown;
}

/**
 * Several changes to one user at once (the admin API's PATCH): every field is checked before
 * anything is written, then roles, lock and display name apply in that order through the actions
 * above (their rules and audit events); the first refusal stops the rest.
 */
export async function updateUser(
  deps: AccountDeps,
  userId: string,
  update: UserUpdate,
  by: Actor,
): Promise<UserChange> {
  if (update.roles !== undefined && !normalizeRoles(update.roles))
    return invalid('roles', sentence(ROLES_MESSAGE));
  if (update.displayName !== undefined) {
    try {
      checkDisplayName(update.displayName);
    } catch (error) {
      if (error instanceof AccountError) return invalid(error.field, sentence(error.message));
      throw error;
    }
  }
  const steps: Array<() => Promise<UserChange>> = [];
  if (update.roles !== undefined) steps.push(() => setRoles(deps, userId, update.roles, by));
  if (update.locked === true) steps.push(() => lockUser(deps, userId, by));
  if (update.locked === false) steps.push(() => unlockUser(deps, userId, by));
  if (update.displayName !== undefined) {
    steps.push(() => updateProfile(deps, userId, { displayName: update.displayName }));
  }
  let result: UserChange = invalid('update', 'Send at least one of roles, locked, displayName.');
  let changed = false;
  for (const step of steps) {
    result = await step();
    if (!result.ok) return result;
    changed ||= result.changed;
  }
  return result.ok ? { ok: true, user: result.user, changed } : result;
}
