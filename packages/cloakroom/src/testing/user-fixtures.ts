import type { NewUser, UserStore } from '../auth/types.js';

/** How a part of the user suite registers a test: it gets a fresh, empty store. */
export type UserIt = (title: string, body: (store: UserStore) => Promise<void>) => unknown;

/** The `now` every user test writes with (a fixed instant: users have no deadlines). */
export const NOW = Date.UTC(2026, 0, 1, 12);

/**
 * A new user named `username`. Its `usernameKey` is the username itself: to a store the key
 * is an opaque string that must be unique, and a test that needs two names sharing one key
 * gives the key explicitly.
 */
export function newUser(username: string, overrides: Partial<NewUser> = {}): NewUser {
  return {
    username,
    usernameKey: username,
    displayName: `${username[0]?.toUpperCase() ?? ''}${username.slice(1)}`,
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
    roles: ['user'],
    ...overrides,
  };
}

/** The users holding `role` who are not locked, by username. */
export async function unlockedHolders(store: UserStore, role: string): Promise<string[]> {
  return (await store.list()).filter((u) => !u.locked && u.roles.includes(role)).map((u) => u.username);
}
