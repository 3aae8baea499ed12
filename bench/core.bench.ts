/**
 * What one authenticated request costs the core, against the sum of its parts.
 *
 * `sessions.validate(request)` on a valid cookie does one HMAC-SHA256 (signature check), one
 * SHA-256 (token → store key) and one store read, plus parsing and glue — the first time this
 * process sees the cookie; after that its verified signature is remembered and the HMAC skipped
 * (src/core/verified-signatures.ts). Both are measured, the first with `rememberVerified: 0`. This bench measures,
 * in ONE process and run, each part on its own and the whole validation on two stores (memory,
 * and SQLite with 100k sessions in the table), then prints validate / (HMAC + SHA-256 + read)
 * per store. The target is ≤ 1.5x: the glue must not cost more than half the real work.
 * It also measures an awaited `crypto.subtle` HMAC and digest, the reason the core calls
 * synchronous `node:crypto` through `SessionCrypto` (docs/performance.md). And `toUser()`, what
 * the adapters add after validate(), for a user with three passkeys: its second-factor document
 * is parsed once per text and remembered. And validate() of a session bound to a device key
 * (DBSC): the same read plus the bound cookie's check.
 *
 * Method: tinybench, tasks run one after another (never concurrently). Each task gets ~1 s of
 * samples in total, taken in 4 interleaved rounds of 250 ms (all tasks, then all tasks again),
 * so a burst of load from elsewhere on a shared box lands on every task rather than on one;
 * the samples of the rounds are pooled for mean, p50 and p99. Each task is warmed up (250 ms
 * in the first round, 50 ms after), a full GC runs before each task, one sample is one call
 * timed with `process.hrtime`, with the calibrated timer overhead subtracted. Async calls are
 * awaited, as the core awaits its store. The session validated was just created under a
 * fixed (manual) clock, so it is inside the touch interval and validation never writes (checked
 * after the run). Nothing is pinned to a CPU. The SQLite file (and its WAL) lives in a fresh
 * temp directory that is removed on exit, on error and on Ctrl-C.
 *
 * Run: `npm run bench:core`
 */
import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Bench, type Task } from 'tinybench';
import type { UserRecord } from '../packages/cloakroom/src/auth/types.js';
import { toUser } from '../packages/cloakroom/src/auth/users.js';
import { manualClock } from '../packages/cloakroom/src/core/clock.js';
import { nodeCrypto } from '../packages/cloakroom/src/core/node-crypto.js';
import type { IncomingRequest } from '../packages/cloakroom/src/core/request.js';
import { createSessions } from '../packages/cloakroom/src/core/sessions.js';
import type { SessionRecord, SessionStore } from '../packages/cloakroom/src/core/store.js';
import { createMemoryStore } from '../packages/cloakroom/src/stores/memory/index.js';
import { createSqliteStore } from '../packages/cloakroom/src/stores/sqlite/index.js';
import { fillerSession } from './filler.js';

const ROWS = 100_000;
/** Sampling time per task, split over interleaved rounds so a burst of load elsewhere hits all tasks alike. */
const TASK_MS = 1_000;
const ROUNDS = 4;
const PREFIX = 'cloakroom-core-bench-';

// tsx escalates Ctrl-C to SIGKILL when its child does not answer within ~60 ms (a busy
// benchmark often cannot), and a killed run cannot clean up. So the directory names its
// process, and each run first removes the directories of runs whose process is gone.
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0); // signal 0: an existence check, nothing is sent
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};
for (const name of readdirSync(tmpdir())) {
  const pid = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1];
  if (pid !== undefined && !isAlive(Number(pid)))
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
}
const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
const cleanUp = () => rmSync(dir, { recursive: true, force: true });
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => process.exit(130));
}

/** Results go here so the engine cannot drop a call whose result is unused. */
let sink: unknown;

/**
 * Awaiting a resolved promise only runs microtasks; a signal handler needs a macrotask turn.
 * Without these, Ctrl-C would wait for the whole run (and skip nothing but the clean-up).
 */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

// A full collection before each task, so the garbage of setup or of the previous task is not
// charged to the next one. `--expose-gc` set at run time, since `npm run bench:core` passes no flags.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const clock = manualClock(Date.now());
const secret = randomBytes(32).toString('base64url');

function filler(i: number): SessionRecord {
  return fillerSession(`user-${i % 5_000}`, clock.now(), {
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) bench',
  });
}

async function fill(store: SessionStore, rows: number): Promise<void> {
  for (let i = 0; i < rows; i++) {
    await store.create(filler(i));
    if (i % 10_000 === 0) await yieldToEventLoop();
  }
}

/** A store with ROWS sessions, the core on it, and a request carrying one of them. */
async function setUp(store: SessionStore, inTransaction?: (run: () => Promise<void>) => Promise<void>) {
  const sessions = createSessions({ secrets: [secret], store, clock });
  const run = inTransaction ?? ((f: () => Promise<void>) => f());
  await run(() => fill(store, ROWS / 2));
  const issued = await sessions.create(request(''), { userId: 'alice' });
  await run(() => fill(store, ROWS / 2 - 1));
  const cookie = issued.setCookie[0]!.split(';')[0]!;
  const req = request(cookie);
  const checked = await sessions.validate(req);
  if (!checked.session || checked.setCookie.length > 0) {
    throw new Error('bench setup: expected a valid, untouched session');
  }
  const token = cookie.slice(cookie.indexOf('=') + 1, cookie.indexOf('.'));
  // The same core without the memo of verified signatures: every validate() does the HMAC, as
  // on the first sight of a cookie.
  const everyTime = createSessions({ secrets: [secret], store, clock, rememberVerified: 0 });
  return { sessions, everyTime, req, id: nodeCrypto.sha256Base64url(token), token };
}

/**
 * A session of `store` bound to a device key (DBSC), registered as a browser registers it, and
 * a request carrying both its cookies; on cores that remember a verified bound cookie or not.
 */
async function boundSetUp(store: SessionStore) {
  const sessions = createSessions({ secrets: [secret], store, clock, dbsc: true });
  const issued = await sessions.create(request(''), { userId: 'alice' });
  const cookie = issued.setCookie[0]!.split(';')[0]!;
  const challenge = /challenge="([^"]+)"/.exec(issued.headers?.['Secure-Session-Registration'] ?? '')?.[1];
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${enc({ typ: 'dbsc+jwt', alg: 'ES256', jwk: publicKey.export({ format: 'jwk' }) })}.${enc({ jti: challenge })}`;
  const proof = `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  const registration = request(cookie);
  registration.method = 'POST';
  (registration.headers as Headers).set('secure-session-response', `"${proof}"`);
  const answer = await sessions.dbsc!.register(registration);
  if (answer.status !== 200) throw new Error(`bench setup: DBSC registration answered ${answer.status}`);
  const req = request(`${cookie}; ${answer.setCookie[0]!.split(';')[0]!}`);
  const everyTime = createSessions({ secrets: [secret], store, clock, dbsc: true, rememberVerified: 0 });
  for (const core of [sessions, everyTime]) {
    if (!(await core.validate(req)).session?.bound) throw new Error('bench setup: expected a bound session');
  }
  return { sessions, everyTime, req };
}

/** A user record whose second-factor document holds `n` passkeys and ten recovery codes. */
function userWithPasskeys(n: number): UserRecord {
  const hash = () => randomBytes(32).toString('base64url');
  const passkeys = Array.from({ length: n }, (_, i) => ({
    id: randomBytes(32).toString('base64url'),
    publicKey: randomBytes(77).toString('base64url'),
    counter: 0,
    transports: ['internal', 'hybrid'],
    deviceType: 'multiDevice',
    backedUp: true,
    name: `Passkey ${i + 1}`,
    createdAt: 1,
    lastUsedAt: 2,
  }));
  const document = {
    v: 1,
    totp: null,
    enrolment: null,
    recoveryCodes: Array.from({ length: 10 }, hash),
    recoveryLink: null,
    passkeys,
  };
  return {
    id: 'alice',
    username: 'alice',
    displayName: 'Alice',
    passwordHash: 'unused',
    roles: ['user'],
    locked: false,
    epoch: 0,
    createdAt: 1,
    updatedAt: 1,
    secondFactor: JSON.stringify(document),
  };
}

function request(cookie: string): IncomingRequest {
  const headers = new Headers({ 'user-agent': 'bench' });
  if (cookie) headers.set('cookie', cookie);
  return { method: 'GET', headers, https: false, host: 'app.test', ip: '127.0.0.1' };
}

const memory = createMemoryStore({ clock, sweepIntervalMs: 0, maxSessions: ROWS * 2 });
const sqlite = createSqliteStore({ path: join(dir, 'bench.db'), clock, sweepIntervalMs: 0 });

try {
  const mem = await setUp(memory);
  const sql = await setUp(sqlite.sessions, async (run) => {
    sqlite.database.exec('BEGIN');
    await run();
    sqlite.database.exec('COMMIT');
  });
  const bound = await boundSetUp(sqlite.sessions);
  const rowCount = sqlite.database.prepare('SELECT count(*) FROM sessions').pluck().get();
  const lastSeenBefore = (await sqlite.sessions.get(sql.id))!.lastSeenAt;

  const hmacKey = randomBytes(32);
  const token = mem.token;
  const tokenBytes = new TextEncoder().encode(token);
  const subtleKey = await crypto.subtle.importKey('raw', hmacKey, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);

  // What the adapters do after validate(): the user's view, which asks whether the user has a
  // second factor (their document parsed, or remembered by its text).
  const withPasskeys = userWithPasskeys(3);
  const fresh = (text: string) => Buffer.from(text, 'utf8').toString('utf8'); // a new string, same text

  const tasks: Array<[string, () => unknown]> = [
    [
      'HMAC-SHA256, node:crypto createHmac (43-char token)',
      () => {
        sink = createHmac('sha256', hmacKey).update(token).digest();
      },
    ],
    [
      'SHA-256, nodeCrypto.sha256Base64url (core path)',
      () => {
        sink = nodeCrypto.sha256Base64url(token);
      },
    ],
    [
      'store read: memory get (hot record)',
      async () => {
        sink = await memory.get(mem.id);
      },
    ],
    [
      `store read: sqlite sessions.get (hot row of ${rowCount})`,
      async () => {
        sink = await sqlite.sessions.get(sql.id);
      },
    ],
    [
      'validate(): memory store, HMAC every time (first sight)',
      async () => {
        sink = await mem.everyTime.validate(mem.req);
      },
    ],
    [
      `validate(): sqlite store (${rowCount} rows), HMAC every time (first sight)`,
      async () => {
        sink = await sql.everyTime.validate(sql.req);
      },
    ],
    [
      'validate(): memory store, cookie seen before',
      async () => {
        sink = await mem.sessions.validate(mem.req);
      },
    ],
    [
      `validate(): sqlite store (${rowCount} rows), cookie seen before`,
      async () => {
        sink = await sql.sessions.validate(sql.req);
      },
    ],
    [
      `validate(): sqlite store (${rowCount} rows), a device-bound session, both cookies seen before`,
      async () => {
        sink = await bound.sessions.validate(bound.req);
      },
    ],
    [
      `validate(): sqlite store (${rowCount} rows), a device-bound session, HMACs every time`,
      async () => {
        sink = await bound.everyTime.validate(bound.req);
      },
    ],
    [
      "toUser(): a user with three passkeys and ten recovery codes (a cache's same text)",
      () => {
        sink = toUser(withPasskeys);
      },
    ],
    [
      'toUser(): the same user, its document read anew (as from a store without a cache)',
      () => {
        sink = toUser({ ...withPasskeys, secondFactor: fresh(withPasskeys.secondFactor!) });
      },
    ],
    [
      'contrast: await crypto.subtle HMAC-SHA256',
      async () => {
        sink = await crypto.subtle.sign('HMAC', subtleKey, tokenBytes);
      },
    ],
    [
      'contrast: await crypto.subtle SHA-256 digest',
      async () => {
        sink = await crypto.subtle.digest('SHA-256', tokenBytes);
      },
    ],
  ];

  const samples = new Map<string, number[]>(tasks.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const bench = new Bench({
      time: TASK_MS / ROUNDS,
      warmupTime: round === 0 ? 250 : 50,
      timestampProvider: 'hrtimeNow',
      subtractTimerOverhead: true,
      retainSamples: true,
      throws: true,
      setup: async () => {
        await yieldToEventLoop();
        collectGarbage();
      },
    });
    for (const [name, fn] of tasks) bench.add(name, fn);
    for (const task of await bench.run()) {
      const pooled = samples.get(task.name)!;
      for (const sample of samplesOf(task)) pooled.push(sample);
    }
  }
  if ((await sqlite.sessions.get(sql.id))!.lastSeenAt !== lastSeenBefore) {
    throw new Error('validate wrote to the store: the measurement is not of the read-only path');
  }
  void sink;
  report(new Map([...samples].map(([name, ms]) => [name, statsOf(ms)])));
} finally {
  await sqlite.close();
  await memory.close();
  cleanUp();
}

interface Stats {
  mean: number;
  p50: number;
  p99: number;
  samples: number;
}

function samplesOf(task: Task): number[] {
  const result = task.result;
  if (!('latency' in result) || !result.latency.samples) throw new Error(`${task.name}: ${result.state}`);
  return result.latency.samples;
}

/** Mean and percentiles in µs of samples in ms (nearest rank). */
function statsOf(samplesMs: number[]): Stats {
  const sorted = samplesMs.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000;
  const mean = (sorted.reduce((sum, x) => sum + x, 0) / sorted.length) * 1000;
  return { mean, p50: at(0.5), p99: at(0.99), samples: sorted.length };
}

function report(stats: Map<string, Stats>): void {
  const find = (prefix: string): Stats => {
    for (const [name, s] of stats) if (name.startsWith(prefix)) return s;
    throw new Error(`no task ${prefix}`);
  };
  const findBoth = (prefix: string, suffix: string): Stats => {
    for (const [name, s] of stats) if (name.startsWith(prefix) && name.endsWith(suffix)) return s;
    throw new Error(`no task ${prefix}…${suffix}`);
  };
  const f = (n: number) => n.toFixed(2).padStart(9);
  const width = Math.max(...[...stats.keys()].map((name) => name.length));

  // The load average says how far to trust the means: on a busy shared box, p50 is the steadier figure.
  const load = loadavg()[0]!.toFixed(2);
  console.log(
    `\ncloakroom core bench — Node ${process.version}, ${process.platform}/${process.arch}, ` +
      `${availableParallelism()} CPUs, load average ${load} at the end`,
  );
  console.log(`${'task'.padEnd(width)}   mean µs    p50 µs    p99 µs   samples`);
  for (const [name, s] of stats) {
    console.log(
      `${name.padEnd(width)} ${f(s.mean)} ${f(s.p50)} ${f(s.p99)} ${String(s.samples).padStart(9)}`,
    );
  }

  const hmac = find('HMAC-SHA256');
  const sha = find('SHA-256');
  const rows: Array<[string, Stats, Stats]> = [
    ['memory, first sight', find('validate(): memory store, HMAC'), find('store read: memory')],
    ['sqlite, first sight', find('validate(): sqlite store'), find('store read: sqlite')],
    ['memory, seen before', find('validate(): memory store, cookie seen'), find('store read: memory')],
    [
      'sqlite, seen before',
      findBoth('validate(): sqlite store', 'rows), cookie seen before'),
      find('store read: sqlite'),
    ],
  ];
  console.log('\nvalidate() vs sum of parts (HMAC + SHA-256 + store read), target ≤ 1.5x');
  console.log(
    '(first sight: the HMAC is checked, as for a cookie this process has not verified yet — measured with\n' +
      ' rememberVerified: 0; seen before: its verified signature is remembered, so validate() skips the HMAC\n' +
      ' and can come in under the sum of the parts)',
  );
  console.log(
    'store                validate mean   parts mean   ratio | validate p50   parts p50   ratio | ≤ 1.5x (mean, p50)',
  );
  for (const [store, validate, read] of rows) {
    const partsMean = hmac.mean + sha.mean + read.mean;
    const partsP50 = hmac.p50 + sha.p50 + read.p50;
    const ratioMean = validate.mean / partsMean;
    const ratioP50 = validate.p50 / partsP50;
    const verdict = (ratio: number) => (ratio <= 1.5 ? 'met' : 'MISSED');
    console.log(
      `${store.padEnd(19)} ${f(validate.mean)} µs ${f(partsMean)} µs ${ratioMean.toFixed(2).padStart(6)}x |` +
        ` ${f(validate.p50)} µs ${f(partsP50)} µs ${ratioP50.toFixed(2).padStart(6)}x | ${verdict(ratioMean)}, ${verdict(ratioP50)}`,
    );
  }
  const plain = findBoth('validate(): sqlite store', 'rows), cookie seen before');
  const bound = findBoth('validate(): sqlite store', 'device-bound session, both cookies seen before');
  console.log(
    `\na device-bound session (DBSC) on sqlite, cookies seen before: p50 ${bound.p50.toFixed(2)} µs vs ` +
      `${plain.p50.toFixed(2)} µs unbound (+${(bound.p50 - plain.p50).toFixed(2)} µs: the bound cookie's check)`,
  );
  const subtle = find('contrast: await crypto.subtle HMAC');
  console.log(
    `\nawaited crypto.subtle HMAC costs ${(subtle.p50 / hmac.p50).toFixed(1)}x the synchronous createHmac ` +
      `(p50 ${subtle.p50.toFixed(2)} µs vs ${hmac.p50.toFixed(2)} µs; mean ${subtle.mean.toFixed(2)} µs vs ` +
      `${hmac.mean.toFixed(2)} µs): why the core's crypto is synchronous.`,
  );
}
