import { type Algorithm, hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { ConfigError } from '../core/errors.js';
import { limitPasswordHasher, type PasswordLimitOptions } from './password-limit.js';
import { MAX_PASSWORD_BYTES } from './password-policy.js';
import type { Argon2Params, PasswordHasher } from './types.js';

export {
  defaultPasswordConcurrency,
  type LimitedPasswordHasher,
  limitPasswordHasher,
  type PasswordLimitOptions,
  type PasswordLimitState,
  type PasswordRefusal,
  type PasswordRefusalReason,
  PasswordsBusyError,
} from './password-limit.js';
export type { Argon2Params, PasswordCheck, PasswordHasher } from './types.js';

/** argon2id parameters (each at least the default) and the limit on how many run at once. */
export interface PasswordHasherOptions extends Partial<Argon2Params> {
  /**
   * How many hashes and verifications run at once and how many wait (see
   * {@link limitPasswordHasher}); calls beyond are refused with `PasswordsBusyError`. Default: the
   * limit's defaults. `false`: no limit (every call starts at once; only for a caller that limits
   * them itself).
   */
  limit?: PasswordLimitOptions | false;
}

/** OWASP / ASVS Appendix C minimum, which is also the default. */
export const DEFAULT_ARGON2: Argon2Params = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

const ARGON2ID = 2 as Algorithm;

type BcryptVerify = (password: string, hash: string) => Promise<boolean>;
let bcryptVerify: Promise<BcryptVerify> | undefined;

/** `@node-rs/bcrypt`, imported once, only by a store that still holds bcrypt hashes. */
function loadBcrypt(): Promise<BcryptVerify> {
  bcryptVerify ??= import('@node-rs/bcrypt').then(
    (bcrypt) => bcrypt.verify,
    (cause: unknown) => {
      bcryptVerify = undefined;
      throw new ConfigError(
        'passwords',
        'a stored password is a bcrypt hash; verifying it needs the optional dependency @node-rs/bcrypt (npm install @node-rs/bcrypt)',
        { cause },
      );
    },
  );
  return bcryptVerify;
}

/**
 * Creates the hasher. Parameters weaker than {@link DEFAULT_ARGON2} are refused. Its calls go
 * through a limit (`options.limit`): a flood of sign-ins waits in a bounded line, then is refused
 * with `PasswordsBusyError`, instead of taking every CPU from the requests of signed-in users.
 * @example
 * const passwords = createPasswordHasher();
 * const stored = await passwords.hash('correct horse battery staple');
 */
export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  const { limit = {}, ...params } = options;
  const p: Argon2Params = {
    memoryCost: params.memoryCost ?? DEFAULT_ARGON2.memoryCost,
    timeCost: params.timeCost ?? DEFAULT_ARGON2.timeCost,
    parallelism: params.parallelism ?? DEFAULT_ARGON2.parallelism,
  };
  if (p.memoryCost < DEFAULT_ARGON2.memoryCost || p.timeCost < DEFAULT_ARGON2.timeCost || p.parallelism < 1) {
    throw new ConfigError('argon2', 'parameters below m=19456 KiB, t=2, p=1 are refused (OWASP minimum)');
  }
  const argon = { algorithm: ARGON2ID, ...p };
  // Made now, not on first use: otherwise the first unknown-user sign-in costs two hashes.
  const dummy = argonHash('cloakroom dummy password for timing equalisation', argon);
  dummy.catch(() => {});

  const isOutdated = (stored: string): boolean => {
    const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
    if (!m) return true;
    return Number(m[1]) < p.memoryCost || Number(m[2]) < p.timeCost || Number(m[3]) !== p.parallelism;
  };

  const hasher: PasswordHasher = {
    async hash(password) {
      if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw new RangeError('password too long');
      return argonHash(password, argon);
    },
    async verify(stored, password) {
      if (typeof password !== 'string' || Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
        return { ok: false, needsRehash: false };
      }
      let ok = false;
      // Legacy bcrypt ($2a$/$2b$/$2y$) verifies so imported users can sign in, then is upgraded.
      // Its binding is an optional dependency, loaded on the first bcrypt hash seen.
      const bcrypt = /^\$2[aby]\$\d\d\$/.test(stored) ? await loadBcrypt() : null;
      try {
        if (stored.startsWith('$argon2')) ok = await argonVerify(stored, password);
        else if (bcrypt) ok = await bcrypt(password, stored);
      } catch {
        ok = false; // a corrupt stored hash is a failed sign-in, not a crash
      }
      return { ok, needsRehash: ok && isOutdated(stored) };
    },
    async verifyDummy(password) {
      try {
        await argonVerify(await dummy, password.slice(0, MAX_PASSWORD_BYTES));
      } catch {
        // only the time matters
      }
    },
  };
  return limit === false ? hasher : limitPasswordHasher(hasher, limit);
}
