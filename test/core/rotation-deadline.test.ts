import { describe, expect, test } from 'vitest';
import { cookiePair, coreHarness, incoming } from '../support/core.js';

const MIN = 60_000;

describe('rotation never extends a sign-in', () => {
  test('rotated ten minutes before the absolute deadline, the idle deadline stops at the absolute one', async () => {
    const { sessions, clock } = coreHarness({ idleTimeout: '30m', absoluteTimeout: '2h' });
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    clock.set(issued.session.absoluteExpiresAt - 10 * MIN);
    const rotated = await sessions.rotate(incoming(), issued.session);
    expect(rotated.session.absoluteExpiresAt).toBe(issued.session.absoluteExpiresAt);
    expect(rotated.session.idleExpiresAt).toBe(issued.session.absoluteExpiresAt);
    clock.set(issued.session.absoluteExpiresAt);
    const cookie = cookiePair(rotated.setCookie[0]);
    expect((await sessions.validate(incoming({ cookie }))).reason).toBe('absolute-timeout');
  });

  test('a rotated "remember me" cookie lives only as long as what is left of its sign-in', async () => {
    const { sessions, clock } = coreHarness({ rememberTimeout: '30d', rememberIdleTimeout: '7d' });
    const issued = await sessions.create(incoming(), { userId: 'alice', remember: true });
    expect(issued.setCookie[0]).toMatch(/; Max-Age=2592000(;|$)/);
    clock.advance(24 * 60 * MIN);
    const rotated = await sessions.rotate(incoming(), issued.session);
    expect(rotated.setCookie[0]).toMatch(/; Max-Age=2505600(;|$)/);
  });

  test('session data of exactly maxDataBytes is accepted; one byte more is refused', async () => {
    const { sessions } = coreHarness({ maxDataBytes: 64 });
    const fits = { k: 'x'.repeat(64 - '{"k":""}'.length) };
    const { session } = await sessions.create(incoming(), { userId: 'alice', data: fits });
    expect(session.data).toEqual(fits);
    await expect(sessions.updateData(session, { set: { k: `${fits.k}x` } })).rejects.toThrow(RangeError);
    expect(await sessions.updateData(session, { set: { k: 'y' }, remove: ['k'] })).toBe(true);
  });
});
