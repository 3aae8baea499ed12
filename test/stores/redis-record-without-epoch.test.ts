import { afterAll, afterEach, expect, test } from 'vitest';
import { createRedisStore } from '../../packages/cloakroom/src/stores/redis/index.js';
import { HOUR, MINUTE } from '../../packages/cloakroom/src/testing/session-fixtures.js';
import { deleteKeys, randomPrefix, requireRedis } from '../support/services.js';

const client = await requireRedis();
const prefixes: string[] = [];
afterEach(async () => {
  for (const prefix of prefixes.splice(0)) await deleteKeys(client, prefix);
});
afterAll(() => client.close());

test('a session hash written before sessions had an epoch reads as epoch 0, and stays usable', async () => {
  const prefix = randomPrefix();
  prefixes.push(prefix);
  const store = createRedisStore({ client, prefix });
  const now = Date.now();
  // Exactly the fields the store wrote before the epoch existed (no `ep`), and its index entry.
  const key = `${prefix}s:old-session`;
  await client.hSet(key, {
    uid: 'user-ada',
    created: String(now),
    seen: String(now),
    idle: String(now + 30 * MINUTE),
    abs: String(now + HOUR),
    idleMs: String(30 * MINUTE),
    remember: '1',
    csrf: 'csrf-secret',
    ip: '203.0.113.7',
    ua: 'UA',
    'd:cart': '["book"]',
  });
  await client.pExpire(key, 30 * MINUTE);
  await client.zAdd(`${prefix}u:user-ada`, { score: now + HOUR, value: 'old-session' });

  const expected = {
    id: 'old-session',
    userId: 'user-ada',
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: now + 30 * MINUTE,
    absoluteExpiresAt: now + HOUR,
    idleTimeoutMs: 30 * MINUTE,
    remember: true,
    epoch: 0,
    authenticatedAt: now,
    methods: [],
    csrfSecret: 'csrf-secret',
    ip: '203.0.113.7',
    userAgent: 'UA',
    binding: null,
    data: { cart: ['book'] },
  };
  expect(await store.sessions.get('old-session')).toEqual(expected);
  expect(await store.sessions.listByUser('user-ada', now)).toEqual([expected]);
  expect(await store.sessions.touch('old-session', now + 1, now + 31 * MINUTE)).toBe(true);
  expect(await store.sessions.updateData('old-session', { set: { n: 1 } })).toBe(true);
  expect(await store.sessions.get('old-session')).toEqual({
    ...expected,
    lastSeenAt: now + 1,
    idleExpiresAt: now + 31 * MINUTE,
    data: { cart: ['book'], n: 1 },
  });
});

test('a session hash written before sessions had authenticatedAt and methods reads as authenticated at its creation by no method named', async () => {
  const prefix = randomPrefix();
  prefixes.push(prefix);
  const store = createRedisStore({ client, prefix });
  const now = Date.now();
  const createdAt = now - 5 * MINUTE;
  // Exactly the fields the store wrote before the two existed (no `auth`, no `amr`).
  const key = `${prefix}s:old-session`;
  await client.hSet(key, {
    uid: 'user-ada',
    created: String(createdAt),
    seen: String(now),
    idle: String(now + 30 * MINUTE),
    abs: String(createdAt + HOUR),
    idleMs: String(30 * MINUTE),
    remember: '0',
    ep: '5',
    csrf: 'csrf-secret',
  });
  await client.pExpire(key, 30 * MINUTE);
  await client.zAdd(`${prefix}u:user-ada`, { score: createdAt + HOUR, value: 'old-session' });

  const expected = {
    id: 'old-session',
    userId: 'user-ada',
    createdAt,
    lastSeenAt: now,
    idleExpiresAt: now + 30 * MINUTE,
    absoluteExpiresAt: createdAt + HOUR,
    idleTimeoutMs: 30 * MINUTE,
    remember: false,
    epoch: 5,
    authenticatedAt: createdAt,
    methods: [],
    csrfSecret: 'csrf-secret',
    ip: null,
    userAgent: null,
    binding: null,
    data: {},
  };
  expect(await store.sessions.get('old-session')).toEqual(expected);
  expect(await store.sessions.listByUser('user-ada', now)).toEqual([expected]);
  expect(await store.sessions.touch('old-session', now + 1, now + 31 * MINUTE)).toBe(true);
  expect(await store.sessions.updateData('old-session', { set: { n: 1 } })).toBe(true);
  expect(await store.sessions.get('old-session')).toEqual({
    ...expected,
    lastSeenAt: now + 1,
    idleExpiresAt: now + 31 * MINUTE,
    data: { n: 1 },
  });
});
