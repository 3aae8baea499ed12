import { afterEach, describe, expect, test } from 'vitest';
import { BACKENDS, startHarnessOn } from '../support/backends.js';
import { PASSWORD, type ServerHarness } from '../support/server.js';

// A burst of correct sign-ins from one address (an office behind one NAT, a load test, a
// client that retries in parallel) over real HTTP, default limits (5 per account, 100 per
// address). Regression: 150 parallel correct sign-ins of five users from one address got 125
// refusals counted as failures, and from then on every sign-in from that address, right
// password or not, got 429 for 15 minutes.

const USERS = ['ada', 'grace', 'linus', 'barbara', 'ken'];
/** Signs in only after the burst: its account was never touched, only the shared address was. */
const LATECOMER = 'dennis';
const PER_USER = 30;

let h: ServerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const signIn = (harness: ServerHarness, username: string, password = PASSWORD) =>
  harness.fetch('/api/login', { json: { username, password } });

/** How many requests have passed the server's session middleware so far. */
const requestsIn = async (harness: ServerHarness) =>
  (await harness.deps.metrics.validations.get()).values.reduce((sum, v) => sum + v.value, 0);

/**
 * Correct JSON sign-ins, one per username, that reach the sign-in handler together: each sends
 * its headers and the first byte of its body, and the rest only once every one of them is
 * waiting in the handler. Sent plainly they trickle in as connections open, and on a small
 * machine each verification ends before the next attempt on the account arrives.
 */
async function burst(harness: ServerHarness, usernames: readonly string[]) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const before = await requestsIn(harness);
  const answers = usernames.map(async (username) => {
    const json = new TextEncoder().encode(JSON.stringify({ username, password: PASSWORD }));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(json.subarray(0, 1));
        await gate;
        controller.enqueue(json.subarray(1));
        controller.close();
      },
    });
    const res = await fetch(`${harness.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(json.byteLength) },
      body,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    await res.arrayBuffer();
    return { username, status: res.status, retryAfter: res.headers.get('retry-after') };
  });
  while ((await requestsIn(harness)) < before + usernames.length) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  release();
  return Promise.all(answers);
}

for (const backend of BACKENDS) {
  describe(`a burst of correct sign-ins from one address (${backend})`, () => {
    test('150 parallel correct sign-ins of five users: each is 200 or 429 (Retry-After: 1), never 401, and the address is not locked afterwards', async () => {
      h = await startHarnessOn(backend, { users: false });
      for (const username of [...USERS, LATECOMER]) await h.createUser(username);
      // Interleaved (ada, grace, …, ada, …) so every account is in the burst from its start.
      const answers = await burst(
        h,
        Array.from({ length: USERS.length * PER_USER }, (_, i) => USERS[i % USERS.length]!),
      );
      expect(answers.filter((a) => a.status !== 200 && a.status !== 429)).toEqual([]);
      for (const username of USERS) {
        expect(answers.some((a) => a.username === username && a.status === 200)).toBe(true);
      }
      // Nothing failed, so no lockout runs: a refusal only means "others are in flight".
      const refused = answers.filter((a) => a.status === 429);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.filter((a) => a.retryAfter !== '1')).toEqual([]);

      // Afterwards, from the same address: every account signs in at the first attempt, a wrong
      // password is an ordinary 401, and no lockout was ever logged.
      for (const username of [...USERS, LATECOMER]) {
        const res = await signIn(h, username);
        expect({ username, status: res.status }).toEqual({ username, status: 200 });
        await res.arrayBuffer();
      }
      const wrong = await signIn(h, USERS[0]!, 'not the password at all');
      expect(wrong.status).toBe(401);
      await wrong.arrayBuffer();
      expect(h.logs.filter((line) => line.event === 'lockout')).toEqual([]);
    }, 60_000);

    test('more correct sign-ins from one address than its limit (105 > 100), five at a time: all 200, and a wrong password is still 401', async () => {
      h = await startHarnessOn(backend, { users: false });
      for (const username of USERS) await h.createUser(username);
      const statuses: number[] = [];
      for (let wave = 0; wave < 21; wave++) {
        const answers = await Promise.all(USERS.map((username) => signIn(h!, username)));
        for (const res of answers) {
          statuses.push(res.status);
          await res.arrayBuffer();
        }
      }
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
      const wrong = await signIn(h, USERS[0]!, 'not the password at all');
      expect(wrong.status).toBe(401);
      await wrong.arrayBuffer();
      expect(h.logs.filter((line) => line.event === 'lockout')).toEqual([]);
    }, 60_000);
  });
}
