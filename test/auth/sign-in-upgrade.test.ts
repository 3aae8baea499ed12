import { type Algorithm, hash as argon2Hash } from '@node-rs/argon2';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { afterEach, describe, expect, test } from 'vitest';
import type { UserStore } from '../../packages/cloakroom/src/auth/types.js';
import { createMemoryUserStore } from '../../packages/cloakroom/src/stores/memory/index.js';
import { createSqliteStore } from '../../packages/cloakroom/src/stores/sqlite/index.js';
import { authHarness, passwords } from '../support/auth.js';

const CURRENT = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/;
const PASSWORD = 'correct horse battery staple';
const ARGON2ID = 2 as Algorithm;

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const userStores: Array<[string, () => UserStore]> = [
  ['memory', () => createMemoryUserStore()],
  [
    'sqlite',
    () => {
      const store = createSqliteStore({ path: ':memory:', sweepIntervalMs: 0 });
      closers.push(() => store.close());
      return store.users;
    },
  ],
];

const legacyHashes: Array<[string, () => Promise<string>]> = [
  ['bcrypt $2b$', () => bcryptHash(PASSWORD, { cost: 10 })],
  ['bcrypt $2y$', async () => `$2y$${(await bcryptHash(PASSWORD, { cost: 10 })).slice(4)}`],
  [
    'argon2id m=4096,t=1',
    () => argon2Hash(PASSWORD, { algorithm: ARGON2ID, memoryCost: 4096, timeCost: 1, parallelism: 1 }),
  ],
];

describe.each(userStores)('re-hash on sign-in (%s user store)', (_name, makeUsers) => {
  test.each(legacyHashes)(
    'a user stored as %s signs in and is re-stored as current argon2id',
    async (_, make) => {
      const { signInAs, seed, users } = authHarness({ users: makeUsers() });
      const legacy = await make();
      await seed('alice', legacy);

      const result = await signInAs('alice', PASSWORD);
      expect(result).toMatchObject({ ok: true, rehashed: true });

      const stored = (await users.getByUsername('alice'))!.passwordHash;
      expect(stored).not.toBe(legacy);
      expect(stored).toMatch(CURRENT);
      expect(await passwords.verify(stored, PASSWORD)).toEqual({ ok: true, needsRehash: false });

      // The next sign-in uses the new hash and writes nothing.
      const again = await signInAs('alice', PASSWORD);
      expect(again).toMatchObject({ ok: true, rehashed: false });
      expect((await users.getByUsername('alice'))!.passwordHash).toBe(stored);
    },
  );

  test.each(legacyHashes)('a failed sign-in leaves a %s hash untouched', async (_, make) => {
    const { signInAs, seed, users, clock } = authHarness({ users: makeUsers() });
    const legacy = await make();
    const before = await seed('alice', legacy);
    clock.advance(60_000);

    const result = await signInAs('alice', 'not the password');
    expect(result.ok).toBe(false);
    const after = (await users.getByUsername('alice'))!;
    expect(after.passwordHash).toBe(legacy);
    expect(after.updatedAt).toBe(before.updatedAt);
  });

  test('a hash at the current parameters is not rewritten on sign-in', async () => {
    const { signInAs, seed, users, clock } = authHarness({ users: makeUsers() });
    const current = await passwords.hash(PASSWORD);
    const before = await seed('alice', current);
    clock.advance(60_000);

    const result = await signInAs('alice', PASSWORD);
    expect(result).toMatchObject({ ok: true, rehashed: false });
    const after = (await users.getByUsername('alice'))!;
    expect(after.passwordHash).toBe(current);
    expect(after.updatedAt).toBe(before.updatedAt);
  });

  test('a locked user with a legacy hash and the right password is refused and not re-hashed', async () => {
    const { signInAs, seed, users } = authHarness({ users: makeUsers() });
    const legacy = await bcryptHash(PASSWORD, { cost: 10 });
    await seed('alice', legacy, true);

    const result = await signInAs('alice', PASSWORD);
    expect(result).toMatchObject({ ok: false, error: 'invalid_credentials' });
    expect((await users.getByUsername('alice'))!.passwordHash).toBe(legacy);
  });

  test.each(legacyHashes)(
    'a password change that lands while a %s sign-in is being verified is not undone by its re-hash',
    async (_, make) => {
      // Regression: the re-hash overwrote the stored hash unconditionally, re-storing the old password.
      const { signInAs, seed, users, clock } = authHarness({ users: makeUsers() });
      const alice = await seed('alice', await make());
      const changed = await passwords.hash('a brand new passphrase');
      let settled = false;
      const pending = signInAs('alice', PASSWORD).finally(() => {
        settled = true;
      });
      // One timer turn: the sign-in has read alice's record and is verifying or re-hashing on the
      // thread pool (both take milliseconds), so its write is still to come.
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(settled).toBe(false);
      await users.update(alice.id, { passwordHash: changed }, clock.now());

      expect(await pending).toMatchObject({ ok: true, rehashed: false });
      expect((await users.getById(alice.id))!.passwordHash).toBe(changed);
    },
  );
});
