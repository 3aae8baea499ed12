import { describe, expect, test } from 'vitest';
import { cookiePair, coreHarness, incoming } from '../support/core.js';

describe('rotation carries the credential epoch', () => {
  test('without a new epoch the rotated session keeps the one its sign-in captured', async () => {
    const { sessions } = coreHarness();
    const issued = await sessions.create(incoming(), { userId: 'alice', epoch: 3 });
    const rotated = await sessions.rotate(incoming(), issued.session);
    expect(rotated.session.epoch).toBe(3);
    const validated = await sessions.validate(incoming({ cookie: cookiePair(rotated.setCookie[0]) }));
    expect(validated.session?.epoch).toBe(3);
  });

  test("after the user's own credential change the rotated session takes the new epoch", async () => {
    const { sessions } = coreHarness();
    const issued = await sessions.create(incoming(), { userId: 'alice', epoch: 3 });
    const rotated = await sessions.rotate(incoming(), issued.session, { epoch: 4 });
    expect(rotated.session.epoch).toBe(4);
    const validated = await sessions.validate(incoming({ cookie: cookiePair(rotated.setCookie[0]) }));
    expect(validated.session?.epoch).toBe(4);
  });
});
