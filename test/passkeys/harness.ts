import type { UserRecord } from '../../packages/cloakroom/src/auth/types.js';
import type { IncomingRequest } from '../../packages/cloakroom/src/core/request.js';
import type { Session } from '../../packages/cloakroom/src/core/session.js';
import {
  beginPasskeyRegistration,
  createPasskeys,
  finishPasskeyRegistration,
  type PasskeyRegistered,
  type PasskeysOptions,
} from '../../packages/cloakroom/src/passkeys/index.js';
import {
  type Backend,
  type Harness,
  harness,
  type Instance,
  type InstanceOptions,
} from '../auth/second-factor-harness.js';
import { cookiePair, incoming } from '../support/core.js';
import {
  type CreationOptionsJSON,
  createSoftAuthenticator,
  type RegisterOptions,
  type SoftAuthenticator,
} from '../support/soft-authenticator.js';

/*
 * The passkey suites' parts, all real: the second-factor harness (memory or SQLite stores, real
 * argon2, one manual clock), the library's passkey use cases with a relying party on
 * http://localhost:3000, and a software authenticator that signs real assertions.
 */

export const ORIGIN = 'http://localhost:3000';

export interface PasskeyHarness extends Harness {
  authenticator: SoftAuthenticator;
  /** A user with a fresh password session (recent: registration may begin). */
  signedInUser(username: string): Promise<{ user: UserRecord; session: Session }>;
  /** Registers a passkey on `authenticator` for the session's user; throws if it is refused. */
  register(
    session: Session,
    opts?: RegisterOptions & { name?: string; authenticator?: SoftAuthenticator },
  ): Promise<PasskeyRegistered>;
  /** A user with one passkey (and the codes its registration made), signed in by password. */
  withPasskey(username: string): Promise<{ user: UserRecord; session: Session; recoveryCodes: string[] }>;
  /** A POST carrying these Set-Cookie values back as cookies. */
  withCookies(setCookie: readonly string[]): IncomingRequest;
  /** A fresh session for a user, as a finished sign-in would make it (no argon2, no factor check). */
  sessionFor(user: UserRecord): Promise<Session>;
  /** A POST without cookies. */
  post(): IncomingRequest;
}

/** Puts a relying party into an instance's deps, over the counter store given (the instance's own). */
export function withRelyingParty(
  into: Instance,
  counters: PasskeysOptions['counters'],
  options: Partial<PasskeysOptions> = {},
): Instance {
  into.deps.passkeys = createPasskeys({ origins: [ORIGIN], counters, ...options });
  return into;
}

export function passkeyHarness(
  backend: Backend = 'memory',
  options: InstanceOptions & { passkeys?: Partial<PasskeysOptions> } = {},
): PasskeyHarness {
  const h = harness(backend, options);
  withRelyingParty(h, h.stores.counters, options.passkeys);
  const authenticator = createSoftAuthenticator(ORIGIN);
  const post = () => incoming({ method: 'POST', ip: '203.0.113.10' });

  const ph: PasskeyHarness = {
    ...h,
    authenticator,
    async signedInUser(username) {
      const user = await h.addUser(username);
      return { user, session: await h.signedIn(username) };
    },
    async register(session, opts = {}) {
      const { name, authenticator: which = authenticator, ...registerOptions } = opts;
      const begun = await beginPasskeyRegistration(h.deps, post(), session);
      if (!begun.ok) throw new Error(`begin registration: ${begun.error}`);
      const response = which.register(begun.options as CreationOptionsJSON, registerOptions);
      const done = await finishPasskeyRegistration(h.deps, post(), session, { response, name });
      if (!done.ok) throw new Error(`finish registration: ${done.error}`);
      return done;
    },
    async withPasskey(username) {
      const { user, session } = await ph.signedInUser(username);
      const done = await ph.register(session);
      return {
        user: (await h.deps.users.getById(user.id))!,
        session,
        recoveryCodes: done.recoveryCodes ?? [],
      };
    },
    async sessionFor(user) {
      const issued = await h.sessions.create(post(), {
        userId: user.id,
        epoch: user.epoch,
        methods: ['pwd'],
      });
      return issued.session;
    },
    post,
    withCookies(setCookie) {
      const cookie = setCookie
        .map((c) => cookiePair(c))
        .filter((pair) => !/=$/.test(pair))
        .join('; ');
      return incoming({ method: 'POST', ip: '203.0.113.10', cookie });
    },
  };
  return ph;
}
