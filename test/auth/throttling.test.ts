import { describe, expect, test } from 'vitest';
import { throttleKeyOfIp } from '../../packages/cloakroom/src/auth/ip.js';
import type { SignInResult } from '../../packages/cloakroom/src/auth/sign-in.js';
import { type AuthHarness, authHarness, passwords } from '../support/auth.js';

const PASSWORD = 'correct horse battery staple';
const WINDOW_S = 15 * 60;

async function withAlice(options: Parameters<typeof authHarness>[0] = {}): Promise<AuthHarness> {
  const harness = authHarness(options);
  await harness.seed('alice', await passwords.hash(PASSWORD));
  return harness;
}

/** The `error` (or `ok`) of each result, to compare whole sequences. */
const statuses = (results: SignInResult[]): string[] => results.map((r) => (r.ok ? 'ok' : r.error));

async function failTimes(
  h: AuthHarness,
  times: number,
  username = 'alice',
  ip?: string,
): Promise<SignInResult[]> {
  const results: SignInResult[] = [];
  for (let i = 0; i < times; i++) results.push(await h.signInAs(username, `wrong password ${i}`, ip));
  return results;
}

describe('per-account throttling (default 5 failures in 15 minutes)', () => {
  test('an operator clear lifts a running lockout at once, and says whether one was running', async () => {
    const h = await withAlice();
    await failTimes(h, 5);
    expect(await h.signInAs('alice', PASSWORD)).toMatchObject({ ok: false, error: 'throttled' });
    expect(await h.throttle.clear('alice')).toBe(true);
    expect(await h.signInAs('alice', PASSWORD)).toMatchObject({ ok: true });
    expect(await h.throttle.clear('alice')).toBe(false);
    // The escalation went too: the next lockout lasts one window again, not two.
    await failTimes(h, 5);
    const again = await h.signInAs('alice', PASSWORD);
    expect(
      again.ok === false && again.error === 'throttled' ? again.retryAfterSeconds : 0,
    ).toBeLessThanOrEqual(WINDOW_S);
  });

  test('after 5 wrong passwords even the correct password gets `throttled` for ~900 s', async () => {
    const h = await withAlice();
    const failures = await failTimes(h, 5);
    expect(statuses(failures)).toEqual(Array(5).fill('invalid_credentials'));

    const sixth = await h.signInAs('alice', PASSWORD);
    expect(sixth).toMatchObject({ ok: false, error: 'throttled', scope: 'account', username: 'alice' });
    const retry = sixth.ok === false && sixth.error === 'throttled' ? sixth.retryAfterSeconds : 0;
    expect(retry).toBeGreaterThanOrEqual(WINDOW_S - 1);
    expect(retry).toBeLessThanOrEqual(WINDOW_S);
    expect(await h.store.listByUser((await h.users.getByUsername('alice'))!.id, h.clock.now())).toHaveLength(
      0,
    );
  });

  test('an unknown username goes through exactly the same sequence of answers', async () => {
    const known = await withAlice();
    const unknown = await withAlice();
    const a = [...(await failTimes(known, 5, 'alice')), await known.signInAs('alice', PASSWORD)];
    const b = [...(await failTimes(unknown, 5, 'nobody')), await unknown.signInAs('nobody', PASSWORD)];
    expect(statuses(b)).toEqual(statuses(a));
    expect(statuses(a)).toEqual([...Array(5).fill('invalid_credentials'), 'throttled']);
    const lockouts = (rs: SignInResult[]) => rs.map((r) => (!r.ok && 'lockout' in r ? r.lockout : null));
    expect(lockouts(b)).toEqual(lockouts(a));
    expect(b[5]).toMatchObject({ error: 'throttled', scope: 'account', retryAfterSeconds: WINDOW_S });
  });

  test('the failure that starts a lockout reports it as `account`; earlier ones report none', async () => {
    const h = await withAlice();
    const failures = await failTimes(h, 5);
    expect(failures.map((r) => (!r.ok && 'lockout' in r ? r.lockout : null))).toEqual([
      [],
      [],
      [],
      [],
      ['account'],
    ]);
  });

  test('once the lockout has passed, the correct password signs in again', async () => {
    const h = await withAlice();
    await failTimes(h, 5);
    h.clock.advance((WINDOW_S - 1) * 1000);
    expect(await h.signInAs('alice', PASSWORD)).toMatchObject({ error: 'throttled', retryAfterSeconds: 1 });
    h.clock.advance(1000);
    expect(await h.signInAs('alice', PASSWORD)).toMatchObject({ ok: true });
  });

  test('a second lockout within a day lasts twice as long (Retry-After grows)', async () => {
    const h = await withAlice();
    await failTimes(h, 5);
    const first = await h.signInAs('alice', PASSWORD);
    h.clock.advance(WINDOW_S * 1000);
    const secondRun = await failTimes(h, 5);
    expect(secondRun.at(-1)).toMatchObject({ lockout: ['account'] });
    const second = await h.signInAs('alice', PASSWORD);
    expect(first).toMatchObject({ error: 'throttled', retryAfterSeconds: WINDOW_S });
    expect(second).toMatchObject({ error: 'throttled', retryAfterSeconds: 2 * WINDOW_S });
    // And it really lasts that long.
    h.clock.advance(WINDOW_S * 1000);
    expect(await h.signInAs('alice', PASSWORD)).toMatchObject({ error: 'throttled' });
    h.clock.advance(WINDOW_S * 1000);
    expect(await h.signInAs('alice', PASSWORD)).toMatchObject({ ok: true });
  });

  test('spellings of one username (`ALICE`, full-width `ａｌｉｃｅ`) share one bucket', async () => {
    const h = await withAlice();
    await failTimes(h, 2, 'ALICE');
    await failTimes(h, 2, 'ａｌｉｃｅ');
    const fifth = await h.signInAs('Alice', 'wrong again');
    expect(fifth).toMatchObject({ error: 'invalid_credentials', username: 'alice', lockout: ['account'] });
    expect(await h.signInAs('alice', PASSWORD)).toMatchObject({ error: 'throttled', scope: 'account' });
    expect(await h.signInAs('ＡＬＩＣＥ', PASSWORD)).toMatchObject({ error: 'throttled', scope: 'account' });
  });

  test('a successful sign-in resets the account failure count', async () => {
    const h = await withAlice();
    await failTimes(h, 4);
    expect(await h.signInAs('alice', PASSWORD)).toMatchObject({ ok: true });
    const next = await failTimes(h, 4);
    expect(next.every((r) => !r.ok && r.error === 'invalid_credentials' && r.lockout.length === 0)).toBe(
      true,
    );
    expect(await h.signInAs('alice', PASSWORD)).toMatchObject({ ok: true });
  });

  test("one account's lockout does not touch another account from the same IP", async () => {
    const h = await withAlice();
    await h.seed('bob', await passwords.hash(PASSWORD));
    await failTimes(h, 5, 'alice');
    expect(await h.signInAs('bob', PASSWORD)).toMatchObject({ ok: true });
  });
});

describe('per-IP throttling (default 100 failures in 15 minutes)', () => {
  test('100 failures over 100 usernames from one IP throttle the next attempt, for any username', async () => {
    const h = await withAlice();
    const ip = '198.51.100.7';
    let last: SignInResult | undefined;
    for (let i = 0; i < 100; i++) last = await h.signInAs(`user${i}`, 'wrong password', ip);
    expect(last).toMatchObject({ error: 'invalid_credentials', lockout: ['ip'] });

    expect(await h.signInAs('fresh-user', 'whatever1', ip)).toMatchObject({
      error: 'throttled',
      scope: 'ip',
    });
    // Even a real user with the correct password, from that IP.
    expect(await h.signInAs('alice', PASSWORD, ip)).toMatchObject({
      error: 'throttled',
      scope: 'ip',
      retryAfterSeconds: WINDOW_S,
    });
    // Another client is unaffected.
    expect(await h.signInAs('alice', PASSWORD, '198.51.100.8')).toMatchObject({ ok: true });
  });

  test('addresses in one IPv6 /64 share a bucket; another /64 does not', async () => {
    const h = await withAlice({ throttle: { ip: { failures: 3, window: '15m' } } });
    await h.signInAs('u1', 'wrong password', '2001:db8::1');
    await h.signInAs('u2', 'wrong password', '2001:db8::ffff');
    const third = await h.signInAs('u3', 'wrong password', '2001:DB8:0:0::1');
    expect(third).toMatchObject({ lockout: ['ip'] });
    expect(await h.signInAs('alice', PASSWORD, '2001:db8::abcd:1234')).toMatchObject({
      error: 'throttled',
      scope: 'ip',
    });
    expect(await h.signInAs('alice', PASSWORD, '2001:db8:0:1::1')).toMatchObject({ ok: true });
  });

  test('an IPv4-mapped IPv6 address counts as the IPv4 address', async () => {
    const h = await withAlice({ throttle: { ip: { failures: 2, window: '15m' } } });
    await h.signInAs('u1', 'wrong password', '::ffff:192.0.2.1');
    await h.signInAs('u2', 'wrong password', '192.0.2.1');
    expect(await h.signInAs('alice', PASSWORD, '192.0.2.1')).toMatchObject({
      error: 'throttled',
      scope: 'ip',
    });
    expect(await h.signInAs('alice', PASSWORD, '::ffff:192.0.2.1')).toMatchObject({ error: 'throttled' });
    expect(await h.signInAs('alice', PASSWORD, '192.0.2.2')).toMatchObject({ ok: true });
  });

  test('throttleKeyOfIp: one key per IPv4 address and per IPv6 /64', () => {
    const v6 = throttleKeyOfIp('2001:db8::1');
    expect(throttleKeyOfIp('2001:db8::ffff')).toBe(v6);
    expect(throttleKeyOfIp('2001:DB8:0:0::1')).toBe(v6);
    expect(throttleKeyOfIp('2001:db8:0:0:ffff:ffff:ffff:ffff')).toBe(v6);
    expect(throttleKeyOfIp('[2001:db8::1]')).toBe(v6);
    expect(throttleKeyOfIp('fe80::1%eth0')).toBe(throttleKeyOfIp('fe80::2'));
    expect(throttleKeyOfIp('2001:db8:0:1::1')).not.toBe(v6);
    expect(v6).toMatch(/\/64$/);

    expect(throttleKeyOfIp('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(throttleKeyOfIp('192.0.2.1')).toBe('192.0.2.1');
    expect(throttleKeyOfIp('192.0.2.2')).not.toBe(throttleKeyOfIp('192.0.2.1'));
  });

  test('throttleKeyOfIp: missing or unparsable addresses share one bucket instead of escaping', () => {
    for (const ip of [null, undefined, '', 'not an ip', '999.1.1.1', '1.2.3.4.5', 'a'.repeat(10_000)]) {
      expect(throttleKeyOfIp(ip)).toBe('unknown');
    }
  });
});
