import { afterEach, describe, expect, test } from 'vitest';
import type { CounterStore } from '../../packages/cloakroom/src/auth/types.js';
import { manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { beginPasskeySignIn, finishPasskeySignIn } from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS, instance } from '../auth/second-factor-harness.js';
import type { RequestOptionsJSON } from '../support/soft-authenticator.js';
import { type PasskeyHarness, passkeyHarness, withRelyingParty } from './harness.js';

/*
 * Anyone may begin a passwordless sign-in, so beginning one writes nothing to the store: its
 * challenge is derived from the random id of its signed ceremony cookie. Only a finish counts,
 * once, and the count outlives the cookie even where instances' clocks differ a little.
 */

describe.each(BACKENDS)('beginning a passwordless sign-in on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  test('a thousand begins touch no counter; each has its own challenge; a finish counts once', async () => {
    h = passkeyHarness(backend);
    await h.withPasskey('alice');
    const calls: string[] = [];
    const counters = h.stores.counters;
    const watched: CounterStore = {
      increment: (key, windowMs, now) => {
        calls.push(`increment ${key}`);
        return counters.increment(key, windowMs, now);
      },
      get: (key, now) => {
        calls.push(`get ${key}`);
        return counters.get(key, now);
      },
      reset: (key) => {
        calls.push(`reset ${key}`);
        return counters.reset(key);
      },
    };
    withRelyingParty(h, watched);
    const begins = await Promise.all(
      Array.from({ length: 1000 }, () => beginPasskeySignIn(h.deps, h.post())),
    );
    expect(calls).toEqual([]);
    expect(new Set(begins.map((b) => b.options.challenge)).size).toBe(1000);

    const last = begins.at(-1)!;
    const response = h.authenticator.authenticate(last.options as RequestOptionsJSON);
    expect((await finishPasskeySignIn(h.deps, h.withCookies(last.setCookie), { response })).ok).toBe(true);
    expect(calls.filter((call) => call.startsWith('increment webauthn:'))).toHaveLength(1);
    // Another begin's challenge with this cookie: not this ceremony's, refused without a write.
    const other = h.authenticator.authenticate(begins[0]!.options as RequestOptionsJSON);
    calls.length = 0;
    expect(
      await finishPasskeySignIn(h.deps, h.withCookies(last.setCookie), { response: other }),
    ).toMatchObject({ error: 'ceremony_expired' });
    expect(calls.filter((call) => call.startsWith('increment webauthn:'))).toEqual([]);
  });

  test('a used challenge stays used while its cookie lives, also after a finish on an instance whose clock is behind', async () => {
    h = passkeyHarness(backend);
    await h.withPasskey('alice');
    const reopened = h.stores.reopen();
    const behind = withRelyingParty(
      instance(reopened, manualClock(h.clock.now() - 30_000)),
      reopened.counters,
    );
    const begun = await beginPasskeySignIn(h.deps, h.post());
    const request = h.withCookies(begun.setCookie);
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON);
    expect((await finishPasskeySignIn(behind.deps, request, { response })).ok).toBe(true);
    // The last millisecond of the cookie on the issuer's clock: the replay finds the challenge used.
    h.clock.advance(5 * 60_000 - 1);
    expect(await finishPasskeySignIn(h.deps, request, { response: structuredClone(response) })).toMatchObject(
      { error: 'ceremony_expired' },
    );
  });
});
