import { afterEach, describe, expect, test } from 'vitest';
import type { LimitedPasswordHasher } from '../../packages/cloakroom/src/auth/password-limit.js';
import { createPasswordHasher } from '../../packages/cloakroom/src/auth/passwords.js';
import type { PasswordHasher } from '../../packages/cloakroom/src/auth/types.js';
import { PASSWORD, type ServerHarness, sessionCookieOf, startHarness } from '../support/server.js';

// A sign-in storm over real HTTP, on real argon2id: the server's password limit
// (CLOAKROOM_SIGNIN_CONCURRENCY, CLOAKROOM_SIGNIN_QUEUE, CLOAKROOM_SIGNIN_MAX_WAIT) lets
// `concurrency` checks run, `queue` wait, and answers the rest 503 busy with Retry-After at once,
// checking and counting nothing for them. The hasher underneath the limit is argon2id that waits,
// before each check, until the test releases it: so "the limit is full" is a fact the test sets
// up, not a race it hopes to win.

/** One argon2id hasher for the file, without a limit of its own (the server's is the one tested). */
const argon2 = createPasswordHasher({ limit: false });

interface Pausable {
  /** argon2id, but while paused every check waits before it starts. */
  hasher: PasswordHasher;
  /** From now on checks wait; `entered` counts from 0 again. */
  pause(): void;
  /** Checks that started since `pause()` (waiting or, after `release()`, not). */
  entered(): number;
  /** Resolves once `n` checks have started since `pause()`. */
  whenEntered(n: number): Promise<void>;
  /** Lets every waiting check (and every later one) run. */
  release(): void;
}

function pausableArgon2(): Pausable {
  let entered = 0;
  let barrier: { promise: Promise<void>; open: () => void } | null = null;
  let watchers: Array<{ n: number; resolve: () => void }> = [];
  const enter = async () => {
    entered++;
    const ready = watchers.filter((w) => entered >= w.n);
    watchers = watchers.filter((w) => entered < w.n);
    for (const w of ready) w.resolve();
    if (barrier) await barrier.promise;
  };
  return {
    hasher: {
      async hash(password) {
        await enter();
        return argon2.hash(password);
      },
      async verify(stored, password) {
        await enter();
        return argon2.verify(stored, password);
      },
      async verifyDummy(password) {
        await enter();
        return argon2.verifyDummy(password);
      },
    },
    pause() {
      let open!: () => void;
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      barrier = { promise, open };
      entered = 0;
    },
    entered: () => entered,
    whenEntered: (n) =>
      entered >= n ? Promise.resolve() : new Promise<void>((resolve) => watchers.push({ n, resolve })),
    release() {
      barrier?.open();
      barrier = null;
    },
  };
}

let h: ServerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const limitOf = (harness: ServerHarness) => (harness.deps.passwords as LimitedPasswordHasher).state();

/** Resolves once the limit holds `running` checks and `waiting` in line. */
async function whenLimit(harness: ServerHarness, running: number, waiting: number): Promise<void> {
  for (;;) {
    const state = limitOf(harness);
    if (state.running === running && state.waiting === waiting) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const metric = async (harness: ServerHarness, name: 'passwordRefusals' | 'logins', label: string) =>
  (await harness.deps.metrics[name].get()).values.find((v) => Object.values(v.labels).includes(label))
    ?.value ?? 0;

/** What the account's throttle counters hold: `null` when the attempt never touched them. */
async function countersOf(harness: ServerHarness, username: string) {
  const now = harness.deps.clock.now();
  const [fail, bad] = await Promise.all([
    harness.deps.counters.get(`fail:acct:${username}`, now),
    harness.deps.counters.get(`bad:acct:${username}`, now),
  ]);
  return { fail: fail?.count ?? null, bad: bad?.count ?? null };
}

interface Attempt {
  username: string;
  password: string;
  /** What it gets when its password is checked. */
  expected: 200 | 401;
}

describe('a sign-in storm: concurrency + queue are admitted, the rest get 503 busy at once', () => {
  test('2 running + 3 waiting of 12 parallel sign-ins; 7 answered 503 + Retry-After before any check ends, nothing counted for them; then the 5 finish correctly', async () => {
    const argon = pausableArgon2();
    h = await startHarness({
      env: { CLOAKROOM_SIGNIN_CONCURRENCY: '2', CLOAKROOM_SIGNIN_QUEUE: '3' },
      passwords: argon.hasher,
    });
    const harness = h;
    // 12 attempts on 12 accounts: right passwords, wrong ones, unknown users.
    const attempts: Attempt[] = [];
    for (let i = 0; i < 12; i++) {
      if (i % 3 === 2) attempts.push({ username: `ghost${i}`, password: PASSWORD, expected: 401 });
      else if (i % 3 === 0) attempts.push({ username: `user${i}`, password: PASSWORD, expected: 200 });
      else attempts.push({ username: `user${i}`, password: 'not the password', expected: 401 });
    }
    for (const a of attempts) if (a.username.startsWith('user')) await harness.createUser(a.username);
    argon.pause();

    const answers = attempts.map(async (attempt) => {
      const res = await harness.fetch('/api/login', {
        json: { username: attempt.username, password: attempt.password },
      });
      return { attempt, res, body: (await res.json()) as { error?: string } };
    });
    // The refused ones answer while the admitted ones are still paused: nothing waits for them.
    const settled: Array<Awaited<(typeof answers)[number]>> = [];
    for (const a of answers) void a.then((r) => settled.push(r));
    await argon.whenEntered(2);
    await whenLimit(harness, 2, 3);
    while (settled.length < 7) await new Promise((resolve) => setImmediate(resolve));

    expect(argon.entered()).toBe(2);
    expect(settled).toHaveLength(7);
    const refused = [...settled];
    for (const { res, body } of refused) {
      expect(res.status).toBe(503);
      expect(body.error).toBe('busy');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(sessionCookieOf(res)).toBeNull();
    }
    // Nothing was counted for a refused attempt: no throttle place, no failure.
    for (const { attempt } of refused) {
      expect(await countersOf(harness, attempt.username)).toEqual({ fail: null, bad: null });
    }
    expect(await metric(harness, 'passwordRefusals', 'queue_full')).toBe(7);
    expect(await metric(harness, 'logins', 'busy')).toBe(7);
    // Once per burst, not per request.
    expect(harness.logs.filter((l) => l.event === 'passwords.busy')).toHaveLength(1);
    expect(harness.logs.find((l) => l.event === 'passwords.busy')).toMatchObject({
      level: 'warn',
      concurrency: 2,
      queue: 3,
    });

    argon.release();
    const all = await Promise.all(answers);
    const admitted = all.filter((a) => !refused.includes(a));
    expect(admitted).toHaveLength(5);
    for (const { attempt, res, body } of admitted) {
      expect(res.status, attempt.username).toBe(attempt.expected);
      if (attempt.expected === 200) expect(sessionCookieOf(res)).not.toBeNull();
      else expect(body.error).toBe('invalid_credentials');
    }
    // Only the admitted attempts were checked, each once.
    expect(argon.entered()).toBe(5);
    expect(limitOf(harness)).toMatchObject({ running: 0, waiting: 0 });
    // The refused ones can sign in now, as if the storm had never been.
    for (const { attempt } of refused) {
      const res = await harness.fetch('/api/login', {
        json: { username: attempt.username, password: attempt.password },
      });
      expect(res.status, attempt.username).toBe(attempt.expected);
    }
  });

  test('the login page answers 503 with a sentence for a person, Retry-After, and the form again', async () => {
    const argon = pausableArgon2();
    h = await startHarness({
      env: { CLOAKROOM_SIGNIN_CONCURRENCY: '1', CLOAKROOM_SIGNIN_QUEUE: '0' },
      passwords: argon.hasher,
      users: false,
    });
    const harness = h;
    argon.pause();
    const first = harness.fetch('/api/login', { json: { username: 'nobody', password: PASSWORD } });
    await argon.whenEntered(1);
    const { cookie, token } = harness.loginFormToken();
    const res = await harness.fetch('/login', {
      cookie,
      form: { _csrf: token, username: 'alice', password: PASSWORD, next: '/account' },
    });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const html = await res.text();
    expect(html).toMatch(/Too many people are signing in right now\. Please try again in \d+ seconds?\./);
    expect(html).toContain('name="password"');
    expect(html).toContain('value="alice"');
    expect(sessionCookieOf(res)).toBeNull();
    argon.release();
    expect((await first).status).toBe(401);
  });
});

describe('the longest wait', () => {
  test('a sign-in still waiting after CLOAKROOM_SIGNIN_MAX_WAIT gets 503 busy; its throttle places are given back', async () => {
    const argon = pausableArgon2();
    h = await startHarness({
      env: {
        CLOAKROOM_SIGNIN_CONCURRENCY: '1',
        CLOAKROOM_SIGNIN_QUEUE: '1',
        CLOAKROOM_SIGNIN_MAX_WAIT: '1s',
        // One attempt per account: a place the refused attempt kept would refuse the next one.
        CLOAKROOM_THROTTLE_ACCOUNT: '1/15m',
      },
      passwords: argon.hasher,
      users: false,
    });
    const harness = h;
    await harness.createUser('carol');
    argon.pause();
    // The only place: an unknown user's check, paused.
    const first = harness.fetch('/api/login', { json: { username: 'nobody', password: PASSWORD } });
    await argon.whenEntered(1);

    const started = performance.now();
    const res = await harness.fetch('/api/login', { json: { username: 'carol', password: PASSWORD } });
    const waited = performance.now() - started;
    expect(res.status).toBe(503);
    expect((await res.json()) as unknown).toMatchObject({ error: 'busy' });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(await metric(harness, 'passwordRefusals', 'timeout')).toBe(1);

    expect(argon.entered()).toBe(1);
    argon.release();
    expect((await first).status).toBe(401);
    // The refused attempt holds no place and counted no failure: carol signs in at once.
    expect(await countersOf(harness, 'carol')).toMatchObject({ bad: null });
    const again = await harness.fetch('/api/login', { json: { username: 'carol', password: PASSWORD } });
    expect(again.status).toBe(200);
  });
});
