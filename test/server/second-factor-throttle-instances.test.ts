import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  enrol,
  passwordStep,
  signInPassword,
  signInTwoSteps,
  totpCode,
} from '../support/second-factor-api.js';
import { jsonOf, type ServerHarness, startHarness } from '../support/server.js';
import { type PostgresDatabase, REDIS_URL, requirePostgres, requireRedis } from '../support/services.js';

// Two server instances on one Redis (sessions, counters) and one PostgreSQL (users), as a
// deployment behind a load balancer runs them: wrong codes sent to either add up to the one
// per-account lockout, and a code used on one is refused on the other.

const redis = await requireRedis();
let db: PostgresDatabase;
let a: ServerHarness;
let b: ServerHarness;

beforeAll(async () => {
  db = await requirePostgres();
  const env = { REDIS_URL, DATABASE_URL: db.url, CLOAKROOM_THROTTLE_ACCOUNT: '5/15m' };
  a = await startHarness({ env });
  b = await startHarness({ env, users: false });
}, 60_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await db?.drop();
  redis.destroy();
});

/** A fresh enrolled user (one per test: each has its own lockout). */
async function enrolled(name: string): Promise<string> {
  await a.createUser(name);
  const browser = await signInPassword(a, name);
  const { secret } = await enrol(a, browser, Date.now);
  return secret;
}

/** A code of `secret` that is certainly wrong now (ten steps ahead). */
const wrongCode = (secret: string) => totpCode(secret, Date.now() + 10 * 30_000);

describe('second-factor throttling across instances', () => {
  test('3 wrong codes on A and 2 on B lock the account: the next attempt, with the right code, is 429 on both', async () => {
    const secret = await enrolled('dora');
    const first = await passwordStep(a, 'dora');
    expect(first.response.status).toBe(401);
    const jar = first.jar;
    for (const [server, n] of [
      [a, 3],
      [b, 2],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const res = await server.fetch('/api/login/second-factor', {
          json: { code: wrongCode(secret) },
          jar,
        });
        expect(res.status).toBe(401);
        expect(await jsonOf(res)).toMatchObject({ error: 'invalid_code' });
      }
    }
    for (const server of [a, b]) {
      const res = await server.fetch('/api/login/second-factor', {
        json: { code: totpCode(secret, Date.now()) },
        jar,
      });
      expect(res.status).toBe(429);
      expect(await jsonOf(res)).toMatchObject({ error: 'throttled' });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // The lockout is per account: another enrolled user on the same instances is not affected.
    const other = await enrolled('emil');
    const step = await passwordStep(b, 'emil');
    const ok = await b.fetch('/api/login/second-factor', {
      json: { code: totpCode(other, Date.now() + 30_000) },
      jar: step.jar,
    });
    expect(ok.status).toBe(200);
  }, 60_000);

  test('4 wrong codes spread over A and B do not lock: the right code still signs in', async () => {
    const secret = await enrolled('fritz');
    const first = await passwordStep(b, 'fritz');
    for (const server of [a, b, a, b]) {
      const res = await server.fetch('/api/login/second-factor', {
        json: { code: wrongCode(secret) },
        jar: first.jar,
      });
      expect(res.status).toBe(401);
    }
    const ok = await a.fetch('/api/login/second-factor', {
      json: { code: totpCode(secret, Date.now() + 30_000) },
      jar: first.jar,
    });
    expect(ok.status).toBe(200);
  }, 60_000);

  test('a code used on A is refused on B (replay across instances)', async () => {
    const secret = await enrolled('greta');
    const code = totpCode(secret, Date.now() + 30_000);
    await signInTwoSteps(a, 'greta', { code });
    const second = await passwordStep(b, 'greta');
    const replay = await b.fetch('/api/login/second-factor', { json: { code }, jar: second.jar });
    expect(replay.status).toBe(401);
    expect(await jsonOf(replay)).toMatchObject({ error: 'invalid_code' });
  }, 60_000);

  test('a pending state finished on A cannot be finished again on B', async () => {
    const secret = await enrolled('hanna');
    const first = await passwordStep(a, 'hanna');
    const pending = first.jar.header()!;
    const ok = await a.fetch('/api/login/second-factor', {
      json: { code: totpCode(secret, Date.now() + 30_000) },
      cookie: pending,
    });
    expect(ok.status).toBe(200);
    const again = await b.fetch('/api/login/second-factor', {
      json: { code: totpCode(secret, Date.now()) },
      cookie: pending,
    });
    expect(again.status).toBe(401);
    expect(await jsonOf(again)).toMatchObject({ error: 'pending_expired' });
  }, 60_000);
});
