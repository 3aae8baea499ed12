import { describe, expect, test } from 'vitest';
import { StoreError, toStoreError } from '../../packages/cloakroom/src/core/errors.js';
import type { SessionRecord, SessionStore } from '../../packages/cloakroom/src/core/store.js';
import { createMemoryStore } from '../../packages/cloakroom/src/stores/memory/index.js';
import { cookiePair, coreHarness, incoming } from '../support/core.js';

/** A memory store whose methods can be made to fail on demand. */
function flakyStore() {
  const base = createMemoryStore({ sweepIntervalMs: 0 });
  const failures: Partial<Record<keyof SessionStore, unknown[]>> = {};
  const created: string[] = [];
  const store: SessionStore = {
    ...base,
    async get(id) {
      const error = failures.get?.shift();
      if (error) throw error;
      return base.get(id);
    },
    async create(record: SessionRecord) {
      created.push(record.id);
      const error = failures.create?.shift();
      if (error) throw error;
      return base.create(record);
    },
  };
  return { store, failures, created };
}

describe('store failures fail closed, and a token collision never overwrites a session', () => {
  test('a driver error while reading becomes a StoreError that keeps the cause, never "no session"', async () => {
    const { store, failures } = flakyStore();
    const { sessions } = coreHarness({ store });
    const cookie = cookiePair((await sessions.create(incoming(), { userId: 'alice' })).setCookie[0]);
    const cause = new Error('connection reset');
    failures.get = [cause];
    const error = await sessions.validate(incoming({ cookie })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'unavailable', cause });
    expect((await sessions.validate(incoming({ cookie }))).session?.userId).toBe('alice');
  });

  test('a store that reports a collision gets a second, different token, never the same id again', async () => {
    const { store, failures, created } = flakyStore();
    const { sessions } = coreHarness({ store });
    failures.create = [new StoreError('exists', { code: 'conflict' })];
    const issued = await sessions.create(incoming(), { userId: 'alice' });
    expect(created).toHaveLength(2);
    expect(created[0]).not.toBe(created[1]);
    expect(issued.session.id).toBe(created[1]!.slice(0, 22));
    expect(
      (await sessions.validate(incoming({ cookie: cookiePair(issued.setCookie[0]) }))).session,
    ).not.toBeNull();
  });

  test('a second collision, or any other failure, is thrown as a StoreError and issues nothing', async () => {
    const { store, failures, created } = flakyStore();
    const { sessions } = coreHarness({ store });
    failures.create = [
      new StoreError('exists', { code: 'conflict' }),
      new StoreError('exists', { code: 'conflict' }),
    ];
    await expect(sessions.create(incoming(), { userId: 'alice' })).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(created).toHaveLength(2);

    const cause = new Error('disk full');
    failures.create = [cause];
    const error = await sessions.create(incoming(), { userId: 'alice' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'unavailable', cause });
    expect(created).toHaveLength(3);

    failures.create = [new StoreError('down')];
    await expect(sessions.create(incoming(), { userId: 'alice' })).rejects.toMatchObject({
      code: 'unavailable',
    });
    expect(created).toHaveLength(4);
  });

  test('toStoreError wraps driver errors with their cause and passes StoreErrors through unchanged', () => {
    const own = new StoreError('already wrapped', { code: 'conflict' });
    expect(toStoreError('get', own)).toBe(own);
    const cause = new TypeError('socket closed');
    const wrapped = toStoreError('touch', cause);
    expect(wrapped).toBeInstanceOf(StoreError);
    expect(wrapped).toMatchObject({ name: 'StoreError', code: 'unavailable', cause });
    expect(wrapped.message).toBe('session store: touch failed');
    expect('cause' in new StoreError('no cause')).toBe(false);
  });
});
