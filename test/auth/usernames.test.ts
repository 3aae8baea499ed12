import { afterEach, describe, expect, test } from 'vitest';
import type { UserStore } from '../../packages/cloakroom/src/auth/types.js';
import { MAX_USERNAME_LENGTH, normalizeUsername } from '../../packages/cloakroom/src/auth/usernames.js';
import { AccountError, createAccount } from '../../packages/cloakroom/src/auth/users.js';
import { createMemoryUserStore } from '../../packages/cloakroom/src/stores/memory/index.js';
import { createSqliteStore } from '../../packages/cloakroom/src/stores/sqlite/index.js';
import { authHarness, passwords } from '../support/auth.js';

const PASSWORD = 'correct horse battery staple';

describe('canonical usernames: NFKC, then full case folding', () => {
  test.each([
    ['Alice', 'alice'],
    ['ALICE', 'alice'],
    ['ａｌｉｃｅ', 'alice'], // full-width
    ['ＡＬＩＣＥ', 'alice'],
    ['ﬁnn', 'finn'], // ligature
    ['Ⅻ', 'xii'], // roman numeral
    ['Jose\u0301', 'jos\u00e9'], // combining accent composes
    ['JOS\u00c9', 'jos\u00e9'],
    ['  bob  ', 'bob'],
    ['Ünïcödé_user-1.2', 'ünïcödé_user-1.2'],
    ['ΟΔΟΣ', 'οδοσ'], // capital sigma
    ['οδος', 'οδοσ'], // final sigma folds to σ; lower-casing kept ς
    ['ΟΔΟς', 'οδοσ'],
    ['STRASSE', 'strasse'],
    ['straße', 'strasse'], // ß folds to ss (CaseFolding.txt status F)
    ['STRAẞE', 'strasse'], // capital ẞ
    ['ﬀ', 'ff'],
    ['\u01F0', '\u01F0'], // ǰ folds to j + U+030C; NFKC after folding composes it back
    ['ᴬᴰᴹᴵᴺ', 'admin'], // modifier letters: NFKC before folding makes them capitals that fold
    ['\u03F2', '\u03C3'], // lunate sigma ϲ: NFKC gives ς, which folds to σ
    ['İstanbul', 'i\u0307stanbul'], // İ folds to i + combining dot above (not Turkish-specific)
  ])('%j is stored and looked up as %j', (input, canonical) => {
    expect(normalizeUsername(input)).toBe(canonical);
  });

  test('spellings that differ only by final sigma or ß are one name (toLowerCase kept them apart)', () => {
    expect(new Set(['ΟΔΟΣ', 'οδοσ', 'ΟΔΟς', 'οδος'].map(normalizeUsername)).size).toBe(1);
    expect(new Set(['STRASSE', 'straße', 'Strasse', 'STRAẞE'].map(normalizeUsername)).size).toBe(1);
  });

  test('the canonical form is a fixed point (normalising twice changes nothing)', () => {
    for (const input of [
      'Alice',
      'ａｌｉｃｅ',
      'ﬁnn',
      'Ⅻ',
      'İstanbul',
      'ΣΊΣΥΦΟΣ',
      'Straße',
      'ǅemal',
      'ᾼ',
      'ꭰ',
    ]) {
      const once = normalizeUsername(input);
      expect(once, input).not.toBeNull();
      expect(normalizeUsername(once), input).toBe(once);
    }
  });
});

describe('usernames that can never be valid are refused as null', () => {
  test.each([
    ['empty', ''],
    ['only spaces', '   '],
    ['NUL', 'ali\u0000ce'],
    ['newline inside', 'ali\nce'],
    ['escape sequence', 'ali\u001b[31mce'],
    ['DEL', 'ali\u007fce'],
    ['C1 control (NEL)', 'ali\u0085ce'],
    ['line separator', 'ali\u2028ce'],
    ['paragraph separator', 'ali\u2029ce'],
    ['65 characters', 'a'.repeat(MAX_USERNAME_LENGTH + 1)],
    ['over 256 bytes in few characters', 'é'.repeat(129)],
    ['over 256 code units', 'a'.repeat(257)],
  ])('%s → null', (_, input) => {
    expect(normalizeUsername(input)).toBeNull();
  });

  test('64 characters is the longest accepted', () => {
    expect(normalizeUsername('a'.repeat(MAX_USERNAME_LENGTH))).toBe('a'.repeat(MAX_USERNAME_LENGTH));
  });

  test('non-strings → null, not an exception', () => {
    for (const input of [undefined, null, 42, true, ['alice'], { toString: () => 'alice' }]) {
      expect(normalizeUsername(input)).toBeNull();
    }
  });

  test('a 1 MB username is refused in under 50 ms (checked before normalising)', () => {
    const huge = 'ａ'.repeat(1_000_000);
    const start = performance.now();
    expect(normalizeUsername(huge)).toBeNull();
    expect(performance.now() - start).toBeLessThan(50);
  });
});

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

describe.each(userStores)('one account per canonical username (%s user store)', (_name, makeUsers) => {
  test('creating `Alice` then full-width `ａｌｉｃｅ` fails with AccountError `taken`', async () => {
    const users = makeUsers();
    const alice = await createAccount(users, passwords, { username: 'Alice', password: PASSWORD }, 0);
    expect(alice.username).toBe('alice');
    expect(alice.displayName).toBe('Alice');

    for (const spelling of ['ａｌｉｃｅ', 'ALICE', ' alice ']) {
      const attempt = createAccount(users, passwords, { username: spelling, password: PASSWORD }, 0);
      await expect(attempt, spelling).rejects.toBeInstanceOf(AccountError);
      await expect(attempt, spelling).rejects.toMatchObject({ code: 'taken', field: 'username' });
    }
    expect(await users.count()).toBe(1);
  });

  test('creating `straße` or `ΟΔΟς` after `STRASSE` / `οδοσ` fails with `taken` (case folding)', async () => {
    const users = makeUsers();
    await createAccount(users, passwords, { username: 'STRASSE', password: PASSWORD }, 0);
    await createAccount(users, passwords, { username: 'οδοσ', password: PASSWORD }, 0);
    for (const spelling of ['straße', 'ΟΔΟς']) {
      await expect(
        createAccount(users, passwords, { username: spelling, password: PASSWORD }, 0),
        spelling,
      ).rejects.toMatchObject({ code: 'taken', field: 'username' });
    }
    expect(await users.count()).toBe(2);
  });

  test('an invalid username is refused with AccountError `invalid`, before any hashing', async () => {
    const users = makeUsers();
    for (const username of ['', 'ali\u0000ce', 'a'.repeat(65)]) {
      await expect(
        createAccount(users, passwords, { username, password: PASSWORD }, 0),
      ).rejects.toMatchObject({
        code: 'invalid',
        field: 'username',
      });
    }
    expect(await users.count()).toBe(0);
  });

  test('sign-in with `ALICE` or `ａｌｉｃｅ` finds the account created as `Alice`', async () => {
    const h = authHarness({ users: makeUsers() });
    const created = await createAccount(h.users, passwords, { username: 'Alice', password: PASSWORD }, 0);
    for (const spelling of ['ALICE', 'ａｌｉｃｅ', 'alice']) {
      const result = await h.signInAs(spelling, PASSWORD);
      expect(result, spelling).toMatchObject({ ok: true, user: { id: created.id, username: 'alice' } });
    }
  });
});
