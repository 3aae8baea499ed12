import { afterEach, describe, expect, test } from 'vitest';
import {
  beginPasskeyRegistration,
  beginPasskeySignIn,
  finishPasskeyRegistration,
  finishPasskeySignIn,
  listPasskeys,
} from '../../packages/cloakroom/src/passkeys/index.js';
import { BACKENDS, instance } from '../auth/second-factor-harness.js';
import type { CreationOptionsJSON, RequestOptionsJSON } from '../support/soft-authenticator.js';
import { type PasskeyHarness, passkeyHarness, withRelyingParty } from './harness.js';

/*
 * A challenge is used up in the shared counter store before anything is verified: of 20
 * parallel finishes of one response, on two instances, exactly one signs in (or registers);
 * every other one, and any later replay, is ceremony_expired.
 */

const PARALLEL = 20;

describe.each(BACKENDS)('challenges are single use on %s', (backend) => {
  let h: PasskeyHarness;
  afterEach(async () => {
    await h.close();
  });

  test(`${PARALLEL} parallel finishes of one sign-in response on two instances: exactly one session`, async () => {
    h = passkeyHarness(backend);
    const { user } = await h.withPasskey('alice');
    const reopened = h.stores.reopen();
    const other = withRelyingParty(instance(reopened, h.clock), reopened.counters);
    const begun = await beginPasskeySignIn(h.deps, h.post());
    const request = h.withCookies(begun.setCookie);
    const response = h.authenticator.authenticate(begun.options as RequestOptionsJSON);
    const results = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        finishPasskeySignIn(i % 2 ? other.deps : h.deps, request, { response: structuredClone(response) }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.error)).toEqual(
      Array(PARALLEL - 1).fill('ceremony_expired'),
    );
    const sessions = await h.stores.sessions.listByUser(user.id, h.clock.now());
    expect(sessions.filter((s) => s.methods?.includes('hwk'))).toHaveLength(1);
    expect(await finishPasskeySignIn(h.deps, request, { response })).toMatchObject({
      error: 'ceremony_expired',
    });
  });

  test(`${PARALLEL} parallel finishes of one registration: exactly one passkey`, async () => {
    h = passkeyHarness(backend);
    const { user, session } = await h.signedInUser('alice');
    const begun = await beginPasskeyRegistration(h.deps, h.post(), session);
    if (!begun.ok) throw new Error(begun.error);
    const response = h.authenticator.register(begun.options as CreationOptionsJSON);
    const results = await Promise.all(
      Array.from({ length: PARALLEL }, () =>
        finishPasskeyRegistration(h.deps, h.post(), session, { response: structuredClone(response) }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(new Set(results.filter((r) => !r.ok).map((r) => !r.ok && r.error))).toEqual(
      new Set(['ceremony_expired']),
    );
    expect(await listPasskeys(h.deps, user.id)).toHaveLength(1);
  });

  test('an unknown challenge sent twice stays unknown (a refusal creates nothing to count on)', async () => {
    h = passkeyHarness(backend);
    await h.withPasskey('alice');
    const begun = await beginPasskeySignIn(h.deps, h.post());
    const request = h.withCookies(begun.setCookie);
    const made = { challenge: Buffer.alloc(32, 7).toString('base64url') };
    const response = h.authenticator.authenticate({ ...(begun.options as RequestOptionsJSON), ...made });
    expect(await finishPasskeySignIn(h.deps, request, { response })).toMatchObject({
      error: 'ceremony_expired',
    });
    expect(await finishPasskeySignIn(h.deps, request, { response })).toMatchObject({
      error: 'ceremony_expired',
    });
  });
});
