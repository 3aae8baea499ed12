import { describe, expect, test } from 'vitest';
import { ConfigError, StoreError } from '../../packages/cloakroom/src/core/errors.js';
import { createSessions } from '../../packages/cloakroom/src/core/sessions.js';
import type { SessionRecord, SessionStore } from '../../packages/cloakroom/src/core/store.js';
import { cookiePair, coreHarness, incoming, SECRET_A } from '../support/core.js';

const MINUTE = 60_000;
/** The default `reauthWindow`. */
const WINDOW = 10 * MINUTE;

/** A signed-in session, `age` ms after its sign-in, as the next request sees it. */
async function signedIn(age = 0, options: Parameters<typeof coreHarness>[0] = {}) {
  const h = coreHarness(options);
  const first = await h.sessions.create(incoming(), {
    userId: 'alice',
    remember: true,
    epoch: 3,
    methods: ['pwd'],
    data: { theme: 'dark' },
  });
  const cookie = cookiePair(first.setCookie[0]);
  h.clock.advance(age);
  const { session } = await h.sessions.validate(incoming({ cookie }));
  if (!session) throw new Error('expected a session');
  return { ...h, first, cookie, session };
}

describe('reauthenticate: a new proof for the same sign-in', () => {
  test('authenticatedAt moves to now; createdAt, the absolute deadline, user, epoch and data stay', async () => {
    const { sessions, clock, cookie, session, first } = await signedIn(25 * MINUTE);
    expect(session.authenticatedAt).toBe(first.session.createdAt);
    const issued = await sessions.reauthenticate(incoming({ method: 'POST', cookie }), session);
    const after = await sessions.validate(incoming({ cookie: cookiePair(issued.setCookie[0]) }));
    expect(after.session).toMatchObject({
      userId: 'alice',
      authenticatedAt: clock.now(),
      createdAt: first.session.createdAt,
      absoluteExpiresAt: first.session.absoluteExpiresAt,
      remember: true,
      epoch: 3,
      data: { theme: 'dark' },
    });
    expect(after.session?.authenticatedAt).not.toBe(after.session?.createdAt);
    expect(issued.session.authenticatedAt).toBe(clock.now());
  });

  test("methods are replaced when given and the sign-in's are kept when not", async () => {
    const { sessions, cookie, session } = await signedIn(MINUTE);
    const withCode = await sessions.reauthenticate(incoming({ cookie }), session, { methods: ['otp'] });
    expect(withCode.session.methods).toEqual(['otp']);
    const next = cookiePair(withCode.setCookie[0]);
    const stored = (await sessions.validate(incoming({ cookie: next }))).session!;
    expect(stored.methods).toEqual(['otp']);
    const plain = await sessions.reauthenticate(incoming({ cookie: next }), stored);
    expect(plain.session.methods).toEqual(['otp']);
  });

  test('the old ticket is dead at once, the new one validates', async () => {
    const { sessions, cookie, session } = await signedIn(MINUTE);
    const issued = await sessions.reauthenticate(incoming({ cookie }), session);
    const fresh = cookiePair(issued.setCookie[0]);
    expect(fresh).not.toBe(cookie);
    expect(issued.session.id).not.toBe(session.id);
    const replay = await sessions.validate(incoming({ cookie }));
    expect(replay.session).toBeNull();
    expect(replay.reason).toBe('not-found');
    expect((await sessions.validate(incoming({ cookie: fresh }))).session?.userId).toBe('alice');
  });

  test('a new CSRF secret: tokens of the old ticket no longer verify, the new token does', async () => {
    const { sessions, cookie, session, first } = await signedIn(MINUTE);
    const issued = await sessions.reauthenticate(incoming({ cookie }), session);
    const post = incoming({ method: 'POST' });
    expect(sessions.checkCsrf(post, issued.session, first.csrfToken)).toBe('bad-token');
    expect(sessions.checkCsrf(post, issued.session, sessions.csrfToken(session))).toBe('bad-token');
    expect(sessions.checkCsrf(post, issued.session, issued.csrfToken)).toBeNull();
  });

  test('the new proof gets a window of its own', async () => {
    const { sessions, clock, cookie, session } = await signedIn(WINDOW + MINUTE);
    expect(sessions.isRecent(session)).toBe(false);
    const issued = await sessions.reauthenticate(incoming({ cookie }), session);
    expect(sessions.isRecent(issued.session)).toBe(true);
    clock.advance(WINDOW - 1);
    expect(sessions.isRecent(issued.session)).toBe(true);
    clock.advance(1);
    expect(sessions.isRecent(issued.session)).toBe(false);
  });

  test('method names that are not short lower-case words are misuse: TypeError, the session untouched', async () => {
    const { sessions, cookie, session } = await signedIn(MINUTE);
    for (const methods of [['PWD'], ['pwd,otp'], [''], ['a'.repeat(17)], Array(9).fill('otp')]) {
      await expect(sessions.reauthenticate(incoming({ cookie }), session, { methods })).rejects.toThrow(
        TypeError,
      );
    }
    expect((await sessions.validate(incoming({ cookie }))).session?.id).toBe(session.id);
  });

  test('a session ended meanwhile cannot be re-authenticated: StoreError conflict, no cookie', async () => {
    const { sessions, cookie, session } = await signedIn(MINUTE);
    await sessions.end(session);
    await expect(sessions.reauthenticate(incoming({ cookie }), session)).rejects.toMatchObject({
      constructor: StoreError,
      code: 'conflict',
    });
  });
});

describe('isRecent: the re-authentication window', () => {
  test('recent until the last millisecond of the 10-minute default, not exactly at it', async () => {
    const { sessions, clock, session } = await signedIn();
    expect(sessions.settings.reauthMs).toBe(WINDOW);
    expect(sessions.isRecent(session)).toBe(true);
    clock.advance(WINDOW - 1);
    expect(sessions.isRecent(session)).toBe(true);
    clock.advance(1);
    expect(sessions.isRecent(session)).toBe(false);
  });

  test('the reauthWindow option and a maxAgeMs argument move the boundary', async () => {
    const { sessions, clock, session } = await signedIn(0, { reauthWindow: '2m' });
    expect(sessions.settings.reauthMs).toBe(2 * MINUTE);
    clock.advance(2 * MINUTE - 1);
    expect(sessions.isRecent(session)).toBe(true);
    expect(sessions.isRecent(session, MINUTE)).toBe(false);
    expect(sessions.isRecent(session, 2 * MINUTE)).toBe(true);
    clock.advance(1);
    expect(sessions.isRecent(session)).toBe(false);
    expect(sessions.isRecent(session, 5 * MINUTE)).toBe(true);
  });

  test('measured from the last proof, not from the sign-in or the last request', async () => {
    const { sessions, clock, cookie, session } = await signedIn(WINDOW - MINUTE);
    // Activity slides the idle deadline but proves nothing.
    clock.advance(2 * MINUTE);
    const later = (await sessions.validate(incoming({ cookie }))).session!;
    expect(later.lastSeenAt).toBe(clock.now());
    expect(sessions.isRecent(later)).toBe(false);
    expect(session.authenticatedAt).toBe(later.authenticatedAt);
  });

  test('a bad reauthWindow throws ConfigError naming it', () => {
    for (const reauthWindow of ['soon', 0, -1, '401d']) {
      expect(() => coreHarness({ reauthWindow })).toThrow(ConfigError);
      try {
        coreHarness({ reauthWindow });
      } catch (error) {
        expect((error as ConfigError).option).toBe('reauthWindow');
      }
    }
  });

  test('a record from before authenticatedAt existed: its sign-in was its last proof', async () => {
    const h = coreHarness();
    // A store written before the field: it hands back records without authenticatedAt and methods.
    const old: SessionStore = {
      ...h.store,
      get: async (key) => {
        const record = await h.store.get(key);
        if (!record) return null;
        const { authenticatedAt: _a, methods: _m, ...rest } = record;
        return rest as SessionRecord;
      },
    };
    const sessions = createSessions({ secrets: [SECRET_A], store: old, clock: h.clock });
    const first = await sessions.create(incoming(), { userId: 'alice', methods: ['pwd'] });
    h.clock.advance(MINUTE);
    const cookie = cookiePair(first.setCookie[0]);
    const { session } = await sessions.validate(incoming({ cookie }));
    expect(session).toMatchObject({ authenticatedAt: first.session.createdAt, methods: [] });
    h.clock.advance(WINDOW);
    expect(sessions.isRecent(session!)).toBe(false);
    const issued = await sessions.reauthenticate(incoming({ cookie }), session!);
    expect(issued.session.authenticatedAt).toBe(h.clock.now());
  });
});
