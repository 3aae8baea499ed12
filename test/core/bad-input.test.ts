import { describe, expect, test } from 'vitest';
import { cookiePair, coreHarness, incoming } from '../support/core.js';

describe('bad input in cookies', () => {
  test('malformed values are "no session", never an exception, never a store query', async () => {
    const { sessions, calls } = coreHarness();
    const values = [
      '',
      'x'.repeat(10_000),
      'not-base64!!.%%%',
      '%00',
      'é'.repeat(87),
      '{"user":"admin"}',
      '__proto__',
      "' OR '1'='1",
      `${'A'.repeat(43)}..${'A'.repeat(43)}`,
      `${'A'.repeat(43)}.${'A'.repeat(43)}=`,
      `${'A'.repeat(43)}=.${'A'.repeat(43)}`,
    ];
    for (const value of values) {
      const result = await sessions.validate(incoming({ cookie: `cloakroom=${value}` }));
      expect(result.session, value.slice(0, 20)).toBeNull();
      expect(result.reason).toMatch(/^(malformed|bad-signature)$/);
    }
    expect(calls.get ?? 0).toBe(0);
  });

  test('two cookies of the session name never authenticate, whatever their order', async () => {
    const { sessions } = coreHarness();
    const victim = cookiePair((await sessions.create(incoming(), { userId: 'victim' })).setCookie[0]);
    const attacker = cookiePair((await sessions.create(incoming(), { userId: 'attacker' })).setCookie[0]);
    for (const header of [`${attacker}; ${victim}`, `${victim}; ${attacker}`, `${victim}; ${victim}`]) {
      const result = await sessions.validate(incoming({ cookie: header }));
      expect(result.session).toBeNull();
      expect(result.reason).toBe('malformed');
    }
  });

  test('other cookies around the session cookie are ignored', async () => {
    const { sessions } = coreHarness();
    const mine = cookiePair((await sessions.create(incoming(), { userId: 'alice' })).setCookie[0]);
    const result = await sessions.validate(incoming({ cookie: `a=1; theme=dark;${mine};x=` }));
    expect(result.session?.userId).toBe('alice');
  });

  test('a cookie header of 64 KiB is handled as no session', async () => {
    const { sessions } = coreHarness();
    const result = await sessions.validate(
      incoming({ cookie: `junk=${'x'.repeat(65_536)}; cloakroom=${'y'.repeat(5000)}` }),
    );
    expect(result.reason).toBe('malformed');
  });

  test('the token is never read from anywhere but the cookie', async () => {
    const { sessions } = coreHarness();
    const value = cookiePair((await sessions.create(incoming(), { userId: 'alice' })).setCookie[0]).split(
      '=',
    )[1]!;
    const headers = new Headers({
      authorization: `Bearer ${value}`,
      'x-session': value,
      'x-csrf-token': value,
    });
    const result = await sessions.validate({
      method: 'GET',
      headers,
      https: false,
      host: 'app.test',
      ip: null,
    });
    expect(result.reason).toBe('missing');
  });

  test('session data over the cap is refused before it reaches the store', async () => {
    const { sessions, calls } = coreHarness({ maxDataBytes: 1024 });
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    await expect(sessions.updateData(issued.session, { set: { blob: 'x'.repeat(2000) } })).rejects.toThrow(
      /maxDataBytes/,
    );
    expect(calls.updateData ?? 0).toBe(0);
    await expect(
      sessions.create(incoming(), { userId: 'a', data: { blob: 'x'.repeat(2000) } }),
    ).rejects.toThrow(RangeError);
  });
});
