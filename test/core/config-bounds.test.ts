import { describe, expect, test } from 'vitest';
import { parseDuration } from '../../packages/cloakroom/src/core/duration.js';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';
import { createKeyring, MAX_SECRETS } from '../../packages/cloakroom/src/core/keyring.js';
import { nodeCrypto } from '../../packages/cloakroom/src/core/node-crypto.js';
import type { SessionsOptions } from '../../packages/cloakroom/src/core/options.js';
import { estimateEntropyBits, secretWeakness } from '../../packages/cloakroom/src/core/secret-strength.js';
import { createSessions } from '../../packages/cloakroom/src/core/sessions.js';
import { createMemoryStore } from '../../packages/cloakroom/src/stores/memory/index.js';
import { SECRET_A } from '../support/core.js';

/** The option a ConfigError names, or null when the options start. */
function refusedOption(options: Partial<SessionsOptions>): string | null {
  try {
    createSessions({ secrets: [SECRET_A], store: createMemoryStore({ sweepIntervalMs: 0 }), ...options });
  } catch (error) {
    if (error instanceof ConfigError) return error.option;
    throw error;
  }
  return null;
}

const DAY = 86_400_000;

describe('configuration limits are exact', () => {
  test('durations: units, plain seconds, numbers of seconds; 400 days is the most', () => {
    expect(parseDuration('90s', 'x')).toBe(90_000);
    expect(parseDuration(' 30m ', 'x')).toBe(1_800_000);
    expect(parseDuration('12h', 'x')).toBe(43_200_000);
    expect(parseDuration('3600', 'x')).toBe(3_600_000);
    expect(parseDuration(90, 'x')).toBe(90_000);
    expect(parseDuration(0.5, 'x')).toBe(500);
    expect(parseDuration('400d', 'x')).toBe(400 * DAY);
    expect(parseDuration(400 * 86_400, 'x')).toBe(400 * DAY);
    for (const bad of [
      '0',
      '0s',
      '-5m',
      '1.5h',
      '12w',
      'm',
      '',
      ' ',
      '1 d 1',
      'x1d',
      '401d',
      `${400 * 86_400 + 1}`,
    ]) {
      expect(() => parseDuration(bad, 'idleTimeout'), bad).toThrow(ConfigError);
    }
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 400 * 86_400 + 1]) {
      expect(() => parseDuration(bad, 'idleTimeout'), String(bad)).toThrow(ConfigError);
    }
  });

  test('remember idle timeout may equal the remember timeout, never exceed it', () => {
    expect(refusedOption({ rememberTimeout: '7d', rememberIdleTimeout: '7d' })).toBeNull();
    expect(refusedOption({ rememberTimeout: '7d', rememberIdleTimeout: '604801' })).toBe(
      'rememberIdleTimeout',
    );
  });

  test('maxDataBytes is a whole number of at least 2 ("{}")', () => {
    expect(refusedOption({ maxDataBytes: 2 })).toBeNull();
    for (const bad of [1, 0, -5, 1.5, Number.NaN])
      expect(refusedOption({ maxDataBytes: bad }), String(bad)).toBe('maxDataBytes');
  });

  test('the login cookie name is checked under the cookie option too', () => {
    expect(refusedOption({ cookie: { name: 'a'.repeat(64) } })).toBeNull();
    const sessions = createSessions({
      secrets: [SECRET_A],
      store: createMemoryStore({ sweepIntervalMs: 0 }),
      cookie: { name: 'sid' },
    });
    expect(
      sessions.issueLoginToken({ method: 'GET', headers: new Headers(), https: false, host: 'a', ip: null })
        .setCookie[0],
    ).toMatch(/^sid-login=/);
  });

  test(`a keyring holds 1 to ${MAX_SECRETS} secrets`, () => {
    const secrets = Array.from(
      { length: MAX_SECRETS + 1 },
      (_, i) => nodeCrypto.encodeBase64url(nodeCrypto.randomBytes(32)) + i,
    );
    expect(createKeyring(secrets.slice(0, MAX_SECRETS), nodeCrypto).size).toBe(MAX_SECRETS);
    expect(() => createKeyring(secrets, nodeCrypto)).toThrow(ConfigError);
    expect(() => createKeyring([], nodeCrypto)).toThrow(ConfigError);
  });

  test('a secret needs 32 bytes and 128 estimated bits: both limits are inclusive', () => {
    const distinct = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    expect(secretWeakness(distinct.slice(0, 32))).toBeNull();
    expect(secretWeakness(distinct.slice(0, 31))).toMatch(/31 bytes/);
    // 16 characters, each twice: exactly 4 bits a character, 128 bits in all.
    const exactly128 = distinct.slice(0, 16).repeat(2);
    expect(estimateEntropyBits(exactly128)).toBe(128);
    expect(secretWeakness(exactly128)).toBeNull();
    // 15 characters over 32 places fall short.
    expect(secretWeakness(`${distinct.slice(0, 15).repeat(2)}AB`)).toMatch(/predictable/);
  });
});
