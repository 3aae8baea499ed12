import { afterEach, describe, expect, test } from 'vitest';
import { beginPasskeyReauth, finishPasskeyReauth } from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS } from '../auth/second-factor-harness.js';
import type { RequestOptionsJSON } from '../support/soft-authenticator.js';
import { type PasskeyHarness, passkeyHarness } from './harness.js';

/*
 * "Confirm it is you" with a passkey: user verification required, a challenge bound to the
 * session, and a new ticket whose proof is now (methods hwk); the old ticket ends.
 */

describe.each(BACKENDS)('re-authentication with a passkey on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  test('a passkey gives the session a new ticket, authenticated now, methods hwk', async () => {
    h = passkeyHarness(backend);
    const { user, session } = await h.withPasskey('alice');
    h.clock.advance(20 * 60_000);
    expect(h.sessions.isRecent(session)).toBe(false);
    const begun = await beginPasskeyReauth(h.deps, h.post(), session);
    if (!begun.ok) throw new Error(begun.error);
    expect(begun.options).toMatchObject({
      userVerification: 'required',
      allowCredentials: [{ id: h.authenticator.credentials[0]!.id, type: 'public-key' }],
    });
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON);
    const done = await finishPasskeyReauth(h.deps, h.post(), session, { response });
    if (!done.ok) throw new Error(done.error);
    expect(done.issued.session).toMatchObject({
      userId: user.id,
      methods: ['hwk'],
      authenticatedAt: h.clock.now(),
    });
    expect(h.sessions.isRecent(done.issued.session)).toBe(true);
    expect(h.events.filter((e) => e.event === 'reauthenticated')).toEqual([
      {
        event: 'reauthenticated',
        userId: user.id,
        session: done.issued.session.id,
        methods: ['hwk'],
        passkey: response.id,
      },
    ]);
    // The old ticket ended with the new one.
    expect(await h.stores.sessions.listByUser(user.id, h.clock.now())).toHaveLength(1);
  });

  test('without user verification: invalid_passkey, and the session stays as it was', async () => {
    h = passkeyHarness(backend);
    const { user, session } = await h.withPasskey('alice');
    h.clock.advance(60_000);
    const begun = await beginPasskeyReauth(h.deps, h.post(), session);
    if (!begun.ok) throw new Error(begun.error);
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON, {
      userVerified: false,
    });
    expect(await finishPasskeyReauth(h.deps, h.post(), session, { response })).toMatchObject({
      error: 'invalid_passkey',
    });
    expect(h.events.filter((e) => e.event === 'passkey.failure')).toMatchObject([{ route: 'reauth' }]);
    const stored = await h.stores.sessions.listByUser(user.id, h.clock.now());
    expect(stored.map((r) => [r.methods, r.authenticatedAt])).toEqual([[['pwd'], session.authenticatedAt]]);
  });

  test('a user without passkeys: not_enrolled', async () => {
    h = passkeyHarness(backend);
    const { session } = await h.signedInUser('bob');
    expect(await beginPasskeyReauth(h.deps, h.post(), session)).toMatchObject({ error: 'not_enrolled' });
  });
});
