import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Algorithm, hash as argon2Hash } from '@node-rs/argon2';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { describe, expect, test } from 'vitest';
import { passwordPolicyError } from '../../packages/cloakroom/src/auth/password-policy.js';
import { createPasswordHasher } from '../../packages/cloakroom/src/auth/passwords.js';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';
import { passwords } from '../support/auth.js';

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=1\$/;
const ARGON2I = 1 as Algorithm;
const ARGON2ID = 2 as Algorithm;
const PASSWORD = 'correct horse battery staple';

/** A string of exactly `bytes` UTF-8 bytes. */
const ofBytes = (bytes: number, char = 'a'): string => char.repeat(bytes);

async function elapsedMs(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

describe('password hashing: argon2id at OWASP parameters or stronger', () => {
  test('new hashes are argon2id v19 with m >= 19456 KiB, t >= 2, p = 1', async () => {
    const stored = await passwords.hash(PASSWORD);
    const match = PHC.exec(stored);
    expect(match, stored).not.toBeNull();
    expect(Number(match![1])).toBeGreaterThanOrEqual(19_456);
    expect(Number(match![2])).toBeGreaterThanOrEqual(2);
  });

  test('two hashes of one password differ (random salt)', async () => {
    const [a, b] = await Promise.all([passwords.hash(PASSWORD), passwords.hash(PASSWORD)]);
    expect(a).not.toBe(b);
  });

  test('the right password verifies, a wrong one does not', async () => {
    const stored = await passwords.hash(PASSWORD);
    expect(await passwords.verify(stored, PASSWORD)).toEqual({ ok: true, needsRehash: false });
    expect(await passwords.verify(stored, `${PASSWORD}!`)).toEqual({ ok: false, needsRehash: false });
    expect(await passwords.verify(stored, PASSWORD.toUpperCase())).toEqual({ ok: false, needsRehash: false });
  });

  test('parameters below the OWASP floor are refused at construction with a ConfigError', () => {
    for (const weak of [{ memoryCost: 4096 }, { timeCost: 1 }, { parallelism: 0 }]) {
      let thrown: unknown;
      try {
        createPasswordHasher(weak);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(weak)).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).code).toBe('config');
    }
  });
});

describe('password length: refused past 1,024 bytes, never truncated', () => {
  test('a password of exactly 1,024 bytes hashes and verifies', async () => {
    const longest = ofBytes(1024);
    const stored = await passwords.hash(longest);
    expect((await passwords.verify(stored, longest)).ok).toBe(true);
  });

  test('hash throws for a password over 1,024 bytes, counted in bytes not characters', async () => {
    await expect(passwords.hash(ofBytes(1025))).rejects.toThrow(RangeError);
    // 513 two-byte characters: 1,026 bytes in 513 characters.
    await expect(passwords.hash(ofBytes(513, 'é'))).rejects.toThrow(RangeError);
  });

  test('verify refuses a password over 1,024 bytes without hashing it (fast, ok false)', async () => {
    const stored = await passwords.hash(PASSWORD);
    // Fastest of a few tries on both sides, so scheduling noise on a busy box cannot decide.
    const fastest = async (run: () => Promise<unknown>) => {
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 5; i++) best = Math.min(best, await elapsedMs(run));
      return best;
    };
    const real = await fastest(() => passwords.verify(stored, PASSWORD));
    for (const tooLong of [ofBytes(1025), ofBytes(513, 'é'), ofBytes(1_000_000)]) {
      expect(await passwords.verify(stored, tooLong)).toEqual({ ok: false, needsRehash: false });
      expect(await fastest(() => passwords.verify(stored, tooLong))).toBeLessThan(Math.max(real / 2, 2));
    }
  });

  test("no truncation: an 80-byte password's first 72 bytes do not verify (unlike bcrypt)", async () => {
    const eighty = `${'p'.repeat(72)}SUFFIX!!`;
    expect(Buffer.byteLength(eighty)).toBe(80);
    const stored = await passwords.hash(eighty);
    expect((await passwords.verify(stored, eighty)).ok).toBe(true);
    expect((await passwords.verify(stored, eighty.slice(0, 72))).ok).toBe(false);
    expect((await passwords.verify(stored, `${'p'.repeat(72)}suffix!!`)).ok).toBe(false);
  });
});

describe('legacy and outdated hashes verify and ask for a re-hash', () => {
  test('bcrypt $2b$ (cost 10) verifies with needsRehash true; a wrong password fails', async () => {
    const legacy = await bcryptHash(PASSWORD, { cost: 10 });
    expect(legacy.startsWith('$2b$10$')).toBe(true);
    expect(await passwords.verify(legacy, PASSWORD)).toEqual({ ok: true, needsRehash: true });
    expect(await passwords.verify(legacy, 'wrong password')).toEqual({ ok: false, needsRehash: false });
  });

  test('bcrypt $2a$ and $2y$ spellings of the same hash verify too, with needsRehash true', async () => {
    const legacy = await bcryptHash(PASSWORD, { cost: 10 });
    for (const prefix of ['$2a$', '$2y$']) {
      const variant = `${prefix}${legacy.slice(4)}`;
      expect(await passwords.verify(variant, PASSWORD), prefix).toEqual({ ok: true, needsRehash: true });
      expect(await passwords.verify(variant, 'wrong password'), prefix).toEqual({
        ok: false,
        needsRehash: false,
      });
    }
  });

  test('argon2id with weaker parameters (m=4096, t=1) verifies with needsRehash true', async () => {
    const weak = await argon2Hash(PASSWORD, {
      algorithm: ARGON2ID,
      memoryCost: 4096,
      timeCost: 1,
      parallelism: 1,
    });
    expect(weak).toMatch(/^\$argon2id\$v=19\$m=4096,t=1,p=1\$/);
    expect(await passwords.verify(weak, PASSWORD)).toEqual({ ok: true, needsRehash: true });
    expect(await passwords.verify(weak, 'wrong password')).toEqual({ ok: false, needsRehash: false });
  });

  test('argon2i (not argon2id) at current parameters verifies with needsRehash true', async () => {
    const other = await argon2Hash(PASSWORD, {
      algorithm: ARGON2I,
      memoryCost: 19_456,
      timeCost: 2,
      parallelism: 1,
    });
    expect(await passwords.verify(other, PASSWORD)).toEqual({ ok: true, needsRehash: true });
  });

  test('a hash at the current parameters does not ask for a re-hash', async () => {
    const current = await argon2Hash(PASSWORD, {
      algorithm: ARGON2ID,
      memoryCost: 19_456,
      timeCost: 2,
      parallelism: 1,
    });
    expect(await passwords.verify(current, PASSWORD)).toEqual({ ok: true, needsRehash: false });
  });

  test('a hash stronger than current is kept (no downgrade on sign-in)', async () => {
    const stronger = await argon2Hash(PASSWORD, {
      algorithm: ARGON2ID,
      memoryCost: 32_768,
      timeCost: 3,
      parallelism: 1,
    });
    expect(await passwords.verify(stronger, PASSWORD)).toEqual({ ok: true, needsRehash: false });
  });

  test('a corrupt or unknown stored hash is a failed check, never an exception', async () => {
    const valid = await passwords.hash(PASSWORD);
    const corrupt = [
      '',
      'plaintext-password',
      PASSWORD,
      '$argon2id$',
      '$argon2id$v=19$m=19456,t=2,p=1$garbage',
      valid.slice(0, -10),
      `${valid.slice(0, -1)}*`,
      '$2b$10$short',
      '$2b$99$abcdefghijklmnopqrstuvabcdefghijklmnopqrstuvwxyzABCDE',
      '$1$md5crypt$abcdefgh',
      '$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E',
    ];
    for (const stored of corrupt) {
      await expect(passwords.verify(stored, PASSWORD), stored).resolves.toEqual({
        ok: false,
        needsRehash: false,
      });
    }
  });
});

describe('hashing never blocks the event loop', () => {
  test('a 5 ms interval keeps ticking while four hashes run', async () => {
    // Heavier than the default so the hashes take long enough to count ticks on a fast box;
    // the code path (libuv thread pool) is the same.
    const heavy = createPasswordHasher({ memoryCost: 65_536, timeCost: 3 });
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
    }, 5);
    const start = performance.now();
    try {
      await Promise.all([1, 2, 3, 4].map((i) => heavy.hash(`${PASSWORD} ${i}`)));
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - start;
    // Synchronous hashing would allow zero ticks until all four finished. Allow a lot of
    // scheduling noise: a third of the ticks the elapsed time could hold, and at least 3.
    expect(elapsed).toBeGreaterThan(20);
    expect(ticks).toBeGreaterThanOrEqual(Math.max(3, Math.floor(elapsed / 5 / 3)));
  });
});

describe('password policy (NIST 800-63B): length only, no composition rules', () => {
  test('7 characters are refused, 8 accepted', () => {
    expect(passwordPolicyError('abcdefg')).toMatch(/at least 8/);
    expect(passwordPolicyError('abcdefgh')).toBeNull();
  });

  test('no composition rules: all lower-case, or eight spaces, are accepted (only length, the blocklist and the username count)', () => {
    expect(passwordPolicyError('quietmeadowlantern')).toBeNull();
    expect(passwordPolicyError('        ')).toBeNull();
    expect(passwordPolicyError('password')).toMatch(/most commonly used/);
  });

  test('length counts characters, not UTF-16 code units', () => {
    expect(passwordPolicyError('🔑'.repeat(7))).toMatch(/at least 8/);
    expect(passwordPolicyError('🔑'.repeat(8))).toBeNull();
  });

  test('1,024 bytes are accepted, 1,025 refused (bytes, not characters)', () => {
    expect(passwordPolicyError(ofBytes(1024))).toBeNull();
    expect(passwordPolicyError(ofBytes(1025))).toMatch(/at most 1024 bytes/);
    expect(passwordPolicyError(ofBytes(513, 'é'))).toMatch(/at most 1024 bytes/);
  });

  test('a non-string is refused, not thrown on', () => {
    for (const value of [undefined, null, 12345678, ['password'], { length: 8 }]) {
      expect(passwordPolicyError(value)).toBe('must be a string');
    }
  });
});

describe('bcrypt is an optional dependency', () => {
  test('without @node-rs/bcrypt, a bcrypt hash is refused with how to install it; argon2 hashes still verify', async () => {
    const legacy = await bcryptHash(PASSWORD, { cost: 4 });
    // A resolve hook makes @node-rs/bcrypt missing, as in an app that never installed it.
    const hook = `export async function resolve(specifier, context, next) {
      if (specifier === '@node-rs/bcrypt') throw Object.assign(new Error('Cannot find package'), { code: 'ERR_MODULE_NOT_FOUND' });
      return next(specifier, context);
    }`;
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
      const { createPasswordHasher } = await import(${JSON.stringify(fileURLToPath(new URL('../../packages/cloakroom/src/auth/passwords.ts', import.meta.url)))});
      const hasher = createPasswordHasher();
      const argon = await hasher.verify(await hasher.hash(${JSON.stringify(PASSWORD)}), ${JSON.stringify(PASSWORD)});
      const refused = await hasher.verify(${JSON.stringify(legacy)}, ${JSON.stringify(PASSWORD)}).then(() => 'verified', (e) => e.name + ': ' + e.message);
      console.log(JSON.stringify({ argon: argon.ok, refused }));
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        timeout: 15_000,
      },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
      argon: boolean;
      refused: string;
    };
    expect(result.argon).toBe(true);
    expect(result.refused).toMatch(
      /^ConfigError: passwords: a stored password is a bcrypt hash; .*npm install @node-rs\/bcrypt/,
    );
  });
});
