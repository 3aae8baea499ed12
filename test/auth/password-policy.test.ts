import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import {
  commonPasswordCount,
  isCommonPassword,
  passwordPolicyError,
} from '../../packages/cloakroom/src/auth/password-policy.js';
import { passwordPolicyError as reexported } from '../../packages/cloakroom/src/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const COMMON = /most commonly used passwords/;
const CONTAINS_USERNAME = /must not contain the username/;

describe('commonly used passwords are refused (NIST SP 800-63B blocklist)', () => {
  test.each(['password', '12345678', 'qwertyuiop', 'iloveyou', 'password123'])(
    '%j is refused',
    (password) => {
      expect(passwordPolicyError(password)).toBe(
        'is one of the most commonly used passwords; choose another',
      );
    },
  );

  test.each([
    ['Password1', 'capitalised'],
    ['PASSWORD1', 'upper case'],
    ['ｐａｓｓｗｏｒｄ１', 'full-width (NFKC)'],
  ])('%j is refused: the list is compared case-insensitively after NFKC (%s)', (password) => {
    expect(passwordPolicyError(password)).toMatch(COMMON);
    expect(isCommonPassword(password)).toBe(true);
  });

  test('a random long passphrase is accepted', () => {
    expect(passwordPolicyError('violet anvil drifts past 47 quiet lanterns')).toBeNull();
    expect(isCommonPassword('violet anvil drifts past 47 quiet lanterns')).toBe(false);
  });

  test('the blocklist holds at least 10,000 passwords', () => {
    expect(commonPasswordCount()).toBeGreaterThanOrEqual(10_000);
  });

  test('length is checked before the list: a short common password is refused for its length', () => {
    expect(passwordPolicyError('123456')).toBe('must be at least 8 characters');
  });
});

describe('a password that contains the username is refused', () => {
  test('the username inside the password, in any case, is refused and the message says why', () => {
    for (const password of ['alice in wonderland 2024', 'my ALICE passphrase', 'xxaliceyy!!']) {
      expect(passwordPolicyError(password, { username: 'alice' }), password).toBe(
        'must not contain the username: it is among the first guesses an attacker tries',
      );
    }
  });

  test('the username is compared in its canonical form (full-width, upper case, ß)', () => {
    expect(passwordPolicyError('a walk down strasse nine', { username: 'Straße' })).toMatch(
      CONTAINS_USERNAME,
    );
    expect(passwordPolicyError('hello ａｌｉｃｅ, long time', { username: 'ALICE' })).toMatch(
      CONTAINS_USERNAME,
    );
  });

  test('a username under 3 characters is not looked for', () => {
    expect(passwordPolicyError('al fresco dinner tonight', { username: 'al' })).toBeNull();
    expect(passwordPolicyError('bob is not here tonight', { username: 'bob' })).toMatch(CONTAINS_USERNAME);
  });

  test('without a username, or with an invalid one, the password is judged on its own', () => {
    expect(passwordPolicyError('alice in wonderland 2024')).toBeNull();
    expect(passwordPolicyError('alice in wonderland 2024', { username: 'ali\u0000ce' })).toBeNull();
  });
});

describe('the length and type rules are unchanged', () => {
  test('7 characters are refused, 8 accepted; more than 1024 bytes refused', () => {
    expect(passwordPolicyError('xk3!qv9')).toBe('must be at least 8 characters');
    expect(passwordPolicyError('xk3!qv9z')).toBeNull();
    expect(passwordPolicyError('é'.repeat(513))).toBe('must be at most 1024 bytes');
  });

  test('a non-string is refused, not thrown on', () => {
    expect(passwordPolicyError(12345678)).toBe('must be a string');
  });

  test('the package root exports the same function', () => {
    expect(reexported).toBe(passwordPolicyError);
  });
});

describe('the policy loads no native module, and its list only when first used', () => {
  interface Probe {
    /** Files opened through process.dlopen (native addons) while importing and using the module. */
    native: string[];
    /** Whether the blocklist package was loaded by the import alone, before any password was checked. */
    listLoadedAtImport: boolean;
  }

  // Native addons reach the process through process.dlopen; record every call, then load and
  // use the module. passwords.ts, which loads argon2 and bcrypt, is the control: it must show up.
  const probe = (file: string): Promise<Probe> => {
    const script = `
      import { createRequire } from 'node:module';
      const native = [];
      const dlopen = process.dlopen;
      process.dlopen = function (module, filename, ...rest) {
        native.push(filename);
        return dlopen.call(this, module, filename, ...rest);
      };
      const policy = await import(${JSON.stringify(resolve(ROOT, file))});
      const cache = createRequire(import.meta.url).cache;
      const listLoadedAtImport = Object.keys(cache).some((path) => path.includes('@zxcvbn-ts'));
      policy.passwordPolicyError?.('Password1', { username: 'alice' });
      console.log(JSON.stringify({ native, listLoadedAtImport }));
    `;
    return promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      timeout: 15_000,
    }).then(({ stdout }) => JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Probe);
  };

  test('importing and calling the password policy opens no .node file', async () => {
    expect((await probe('packages/cloakroom/src/auth/password-policy.ts')).native).toEqual([]);
  });

  test('the probe sees native modules (control: the password hasher opens argon2 and bcrypt)', async () => {
    const { native } = await probe('packages/cloakroom/src/auth/passwords.ts');
    expect(native.some((file) => /argon2.*\.node$/.test(file))).toBe(true);
  });

  test('the 49,000-entry list is not read at import, only on the first check', async () => {
    expect((await probe('packages/cloakroom/src/auth/password-policy.ts')).listLoadedAtImport).toBe(false);
  });
});
