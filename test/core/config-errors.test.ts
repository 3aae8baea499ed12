import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';
import type { SessionsOptions } from '../../packages/cloakroom/src/core/options.js';
import { createSessions } from '../../packages/cloakroom/src/core/sessions.js';
import { createMemoryStore } from '../../packages/cloakroom/src/stores/memory/index.js';
import { cookiePair, coreHarness, incoming, SECRET_A, SECRET_B } from '../support/core.js';

function attempt(options: Partial<SessionsOptions>): ConfigError {
  try {
    createSessions({
      secrets: [SECRET_A],
      store: createMemoryStore({ sweepIntervalMs: 0 }),
      ...options,
    } as SessionsOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration errors stop start-up with one actionable line', () => {
  test.each([
    ['no secret', { secrets: [] }, 'secrets', /at least one secret/],
    // process.env.CLOAKROOM_SECRETS with the variable unset, passed as it is or inside a list
    ['an unset variable', { secrets: undefined }, 'secrets', /^secrets: not set; /],
    ['an empty variable', { secrets: '' }, 'secrets', /^secrets: not set; /],
    [
      'an unset variable in a list',
      { secrets: [undefined] as never },
      'secrets',
      /secret #1 is not set \(undefined\)/,
    ],
    ['an empty entry', { secrets: `${SECRET_A},` }, 'secrets', /secret #2 is not set \(empty\)/],
    ['a number', { secrets: 42 as never }, 'secrets', /list of strings or one comma-separated string/],
    [
      'a list holding a number',
      { secrets: [SECRET_A, 42] as never },
      'secrets',
      /secret #2 must be a string/,
    ],
    ['a 16-byte secret', { secrets: ['0123456789abcdef'] }, 'secrets', /16 bytes long/],
    [
      'a placeholder padded to length',
      { secrets: ['changeme-changeme-changeme-changeme'] },
      'secrets',
      /predictable/,
    ],
    ['the same character 64 times', { secrets: ['a'.repeat(64)] }, 'secrets', /predictable/],
    ['a repeated secret', { secrets: [SECRET_A, SECRET_A] }, 'secrets', /repeats/],
    ['SameSite=None', { cookie: { sameSite: 'none' as 'lax' } }, 'cookie.sameSite', /never "none"/],
    [
      'a cookie name with attribute smuggling',
      { cookie: { name: 'sid; Domain=evil.test' } },
      'cookie.name',
      /cookie token/,
    ],
    [
      'a cookie name that brings its own prefix',
      { cookie: { name: '__Host-sid' } },
      'cookie.name',
      /added for you/,
    ],
    [
      'a 5000-character cookie name (every bad-cookie validate used to throw RangeError)',
      { cookie: { name: 'a'.repeat(5000) } },
      'cookie.name',
      /at most 64 characters, got 5000/,
    ],
    ['a 65-character cookie name', { cookie: { name: 'a'.repeat(65) } }, 'cookie.name', /at most 64/],
    [
      'idle longer than absolute',
      { idleTimeout: '13h', absoluteTimeout: '12h' },
      'idleTimeout',
      /absoluteTimeout/,
    ],
    [
      'touch interval not shorter than idle',
      { idleTimeout: '60s', touchInterval: '60s' },
      'touchInterval',
      /shorter/,
    ],
    ['a negative duration', { idleTimeout: -5 }, 'idleTimeout', /positive/],
    ['a duration with an unknown unit', { absoluteTimeout: '12w' }, 'absoluteTimeout', /90s, 30m/],
    // Unbounded durations made deadlines no Date can hold (toISOString threw on every request).
    ['a 401-day absolute timeout', { absoluteTimeout: '401d' }, 'absoluteTimeout', /at most 400d/],
    ['a billion-day remember timeout', { rememberTimeout: '999999999d' }, 'rememberTimeout', /at most 400d/],
    [
      'an idle timeout of 1e12 seconds',
      { idleTimeout: 1e12, absoluteTimeout: 1e12 },
      'idleTimeout',
      /at most 400d/,
    ],
    [
      'a remember idle timeout over 400 days',
      { rememberIdleTimeout: '9601h' },
      'rememberIdleTimeout',
      /at most 400d/,
    ],
    ['a touch interval over 400 days', { touchInterval: '401d' }, 'touchInterval', /at most 400d/],
    ['a wildcard trusted origin', { trustedOrigins: ['*'] }, 'trustedOrigins', /exact origin|not an origin/],
    ['a subdomain wildcard', { trustedOrigins: ['https://*.example.com'] }, 'trustedOrigins', /no wildcard/],
    [
      'a trusted origin with a path',
      { trustedOrigins: ['https://example.com/app'] },
      'trustedOrigins',
      /no path/,
    ],
    ['no store', { store: undefined as never }, 'store', /store is required/],
  ] as const)('%s', (_name, options, option, message) => {
    const error = attempt(options as Partial<SessionsOptions>);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
    expect(error.message.split('\n')).toHaveLength(1);
  });

  test('the error never echoes the secret', () => {
    const weak = 'hunter2hunter2hunter2hunter2hunter2';
    const error = attempt({ secrets: [SECRET_B, weak] });
    expect(error.message).not.toContain(weak);
    expect(error.message).toContain('#2');
  });

  test('a 64-character cookie name starts; a bad cookie under it is "no session" with a clearing Set-Cookie, never a throw', async () => {
    const name = 'n'.repeat(64);
    const { sessions } = coreHarness({ cookie: { name, secure: true } });
    const result = await sessions.validate(
      incoming({ https: true, cookie: `__Host-${name}=${'x'.repeat(43)}.${'y'.repeat(43)}` }),
    );
    expect(result.session).toBeNull();
    expect(result.setCookie.length).toBeGreaterThan(0);
    for (const line of result.setCookie) expect(line.length).toBeLessThan(512);
    // The login form's cookie (name + `-login`) is fine too.
    expect(() => sessions.issueLoginToken(incoming({ https: true }))).not.toThrow();
  });

  test("400 days, the browsers' cap on cookie lifetimes, is accepted", () => {
    expect(() =>
      createSessions({
        secrets: [SECRET_A],
        store: createMemoryStore({ sweepIntervalMs: 0 }),
        absoluteTimeout: '400d',
        rememberTimeout: 400 * 86_400,
      }),
    ).not.toThrow();
  });

  test('rememberVerified must be a whole number of entries; 0 turns the memo off and still validates', async () => {
    for (const bad of [-1, 1.5, Number.NaN]) {
      expect(attempt({ rememberVerified: bad }).option).toBe('rememberVerified');
    }
    const { sessions } = coreHarness({ rememberVerified: 0 });
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    const cookie = issued.setCookie[0]!.split(';')[0]!;
    expect((await sessions.validate(incoming({ cookie }))).session?.userId).toBe('alice');
    expect((await sessions.validate(incoming({ cookie }))).session?.userId).toBe('alice');
  });

  test('secrets as one comma-separated string (an environment variable as it is): newest signs, every one verifies', async () => {
    const old = coreHarness({ secrets: SECRET_A });
    const issued = await old.sessions.create(incoming(), { userId: 'alice' });
    const rotated = createSessions({
      secrets: ` ${SECRET_B} , ${SECRET_A} `,
      store: old.store,
      clock: old.clock,
    });
    const seen = await rotated.validate(incoming({ cookie: cookiePair(issued.setCookie[0]) }));
    expect(seen.session?.userId).toBe('alice');
    const fresh = await rotated.create(incoming(), { userId: 'bob' });
    const onlyB = createSessions({ secrets: [SECRET_B], store: old.store, clock: old.clock });
    expect((await onlyB.validate(incoming({ cookie: cookiePair(fresh.setCookie[0]) }))).session?.userId).toBe(
      'bob',
    );
  });

  test('a good configuration starts', () => {
    expect(() =>
      createSessions({
        secrets: [SECRET_B, SECRET_A],
        store: createMemoryStore({ sweepIntervalMs: 0 }),
        idleTimeout: 900,
      }),
    ).not.toThrow();
  });
});
