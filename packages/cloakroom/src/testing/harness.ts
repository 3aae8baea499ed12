import assert from 'node:assert/strict';

/** A test body: the suite's tests are all async. */
export type TestBody = () => Promise<void>;

/**
 * The few test-framework functions the suites use, typed structurally so vitest, node:test
 * and jest objects fit as they are. Hooks are accepted (so a framework's object can be passed
 * whole) but not needed: every test makes and cleans up its own store.
 */
export interface TestApi {
  describe: (name: string, body: () => void) => unknown;
  test: (name: string, body: TestBody) => unknown;
  beforeEach?: (body: TestBody) => unknown;
  afterEach?: (body: TestBody) => unknown;
}

/** A fresh, empty store for one test, and how to dispose of it afterwards. */
export type StoreFactory<S> = () => Promise<{ store: S; cleanup?: () => Promise<void> }>;

/** Wraps a test body so it gets its own store, cleaned up whether the body passes or fails. */
export function withStore<S>(makeStore: StoreFactory<S>, body: (store: S) => Promise<void>): TestBody {
  return async () => {
    const { store, cleanup } = await makeStore();
    try {
      await body(store);
    } finally {
      await cleanup?.();
    }
  };
}

/**
 * Asserts that `promise` rejects with a `StoreError` of `code`. Matched by name and code, not
 * `instanceof`, so a store built against another copy of cloakroom still passes.
 */
export async function rejectsWithStoreError(promise: Promise<unknown>, code: 'conflict' | 'unavailable') {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof Error, 'expected an Error');
    assert.equal(error.name, 'StoreError');
    assert.equal((error as Error & { code?: unknown }).code, code);
    return true;
  });
}
