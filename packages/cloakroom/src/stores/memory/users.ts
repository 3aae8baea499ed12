import { randomUUID } from 'node:crypto';
import type { UpdateCondition, UserPatch, UserRecord, UserStore } from '../../auth/types.js';
import { StoreError } from '../../core/errors.js';

const copyUser = (user: UserRecord): UserRecord => ({ ...user, roles: [...user.roles] });

// Code-unit order, the same as SQLite's BINARY collation for the ASCII usernames most
// deployments have, so both stores list users alike.
const byUsername = (a: UserRecord, b: UserRecord): number =>
  a.username < b.username ? -1 : a.username > b.username ? 1 : 0;

const applyPatch = (user: UserRecord, patch: UserPatch, now: number): void => {
  if (patch.displayName !== undefined) user.displayName = patch.displayName;
  if (patch.passwordHash !== undefined) user.passwordHash = patch.passwordHash;
  if (patch.roles !== undefined) user.roles = [...patch.roles];
  if (patch.locked !== undefined) user.locked = patch.locked;
  // `null` is a value here (no second factor), so only a left-out field keeps the stored one.
  if (patch.secondFactor !== undefined) user.secondFactor = patch.secondFactor;
  if (patch.advanceEpoch === true) user.epoch++;
  user.updatedAt = now;
};

/**
 * A {@link UserStore} in memory, for tests and demos: users are lost on restart. Unbounded,
 * since only administrators create users. Returned records are copies. Every method runs to
 * completion without awaiting, so a condition and the write it guards are one atomic step.
 * @example
 * const users = createMemoryUserStore();
 * await users.create(
 *   { username: 'ada', usernameKey: usernameSkeleton('ada'), displayName: 'Ada', passwordHash, roles: ['admin'] },
 *   Date.now(),
 * );
 */
export function createMemoryUserStore(): UserStore {
  const users = new Map<string, UserRecord>();
  const idByUsername = new Map<string, string>();
  // Confusable skeletons in use: `admin` and a Cyrillic `аdmin` share one.
  const usernameKeys = new Set<string>();

  const find = (id: string | undefined): UserRecord | null => {
    const user = id === undefined ? undefined : users.get(id);
    return user === undefined ? null : copyUser(user);
  };

  const someOtherHolds = (role: string, id: string): boolean => {
    for (const other of users.values()) {
      if (other.id !== id && !other.locked && other.roles.includes(role)) return true;
    }
    return false;
  };

  const holds = (user: UserRecord, condition: UpdateCondition): boolean =>
    (condition.ifPasswordHash === undefined || user.passwordHash === condition.ifPasswordHash) &&
    (condition.ifSecondFactor === undefined || user.secondFactor === condition.ifSecondFactor) &&
    (condition.keepRole === undefined || someOtherHolds(condition.keepRole, user.id));

  return {
    async getById(id) {
      return find(id);
    },

    async getByUsername(username) {
      return find(idByUsername.get(username));
    },

    async create(user, now) {
      if (idByUsername.has(user.username) || usernameKeys.has(user.usernameKey)) {
        throw new StoreError('user store: create failed: the username (or one confusable with it) is taken', {
          code: 'conflict',
        });
      }
      const record: UserRecord = {
        id: randomUUID(),
        username: user.username,
        displayName: user.displayName,
        passwordHash: user.passwordHash,
        roles: [...user.roles],
        locked: user.locked ?? false,
        epoch: 0,
        secondFactor: null,
        createdAt: now,
        updatedAt: now,
      };
      users.set(record.id, record);
      idByUsername.set(record.username, record.id);
      usernameKeys.add(user.usernameKey);
      return copyUser(record);
    },

    async update(id, patch, now, condition = {}) {
      const user = users.get(id);
      if (user === undefined || !holds(user, condition)) return null;
      applyPatch(user, patch, now);
      return copyUser(user);
    },

    async list() {
      return [...users.values()].sort(byUsername).map(copyUser);
    },

    async count() {
      return users.size;
    },
  };
}
