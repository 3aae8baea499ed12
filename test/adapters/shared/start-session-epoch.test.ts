import { Hono } from 'hono';
import { describe, expect, test } from 'vitest';
import { type CloakroomEnv, createHonoAuth } from '../../../packages/cloakroom/src/adapters/hono/index.js';
import { withEpoch } from '../../../packages/cloakroom/src/adapters/shared/auth-state.js';
import { createSessions } from '../../../packages/cloakroom/src/core/sessions.js';
import {
  createMemoryStore,
  createMemoryUserStore,
} from '../../../packages/cloakroom/src/stores/memory/index.js';
import { SECRET_A } from '../../support/core.js';

/**
 * A session an application starts itself (`startSession`, no `signIn`) must carry its user's
 * current credential epoch: one made with epoch 0 for a user whose password has changed before
 * would be refused as stale on its first request.
 */
async function userAtEpoch(epoch: number) {
  const users = createMemoryUserStore();
  const user = await users.create(
    { username: 'ada', usernameKey: 'ada', displayName: 'Ada', passwordHash: 'x', roles: [] },
    Date.now(),
  );
  for (let i = 0; i < epoch; i++) await users.update(user.id, { advanceEpoch: true }, Date.now());
  return { users, id: user.id };
}

describe("startSession takes the user's current epoch when none is given", () => {
  test('withEpoch reads it, keeps one that is given, and leaves options alone without a user store', async () => {
    const { users, id } = await userAtEpoch(3);
    expect(await withEpoch(users, { userId: id })).toEqual({ userId: id, epoch: 3 });
    expect(await withEpoch(users, { userId: id, epoch: 1 })).toEqual({ userId: id, epoch: 1 });
    expect(await withEpoch(undefined, { userId: id })).toEqual({ userId: id });
  });

  test('through the Hono adapter: a session started for a user at epoch 2 works on its next request', async () => {
    const { users, id } = await userAtEpoch(2);
    const sessions = createSessions({
      secrets: [SECRET_A],
      store: createMemoryStore({ sweepIntervalMs: 0 }),
    });
    const auth = createHonoAuth({ sessions, users });
    const app = new Hono<CloakroomEnv>();
    app.use(auth.middleware);
    app.post('/start', async (c) => {
      await auth.startSession(c, { userId: id });
      return c.body(null, 204);
    });
    app.get('/me', auth.requireUser(), (c) => c.json({ id: c.get('user')?.id }));
    const started = await app.request('/start', { method: 'POST' });
    const cookie = started.headers.getSetCookie()[0]!.split(';')[0]!;
    const me = await app.request('/me', { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ id });
  });
});
