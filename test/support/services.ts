// The real services the store tests talk to. A missing service is a FAILURE with the command
// that starts it, never a skip: a green run must mean the Redis and PostgreSQL stores were tested.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, Socket } from 'node:net';
import { promisify } from 'node:util';
import pg from 'pg';
import { createClient, type RedisClientType } from 'redis';

const run = promisify(execFile);

/** The shared Redis of this machine (or CI's). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The shared PostgreSQL; each test file creates and drops its own database on it. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const START_REDIS = `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no`;
const START_POSTGRES = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';

/** A URL fit for an error message: no password. */
const safeUrl = (url: string): string => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A prefix no other test (or test run) uses, so a test starts with an empty store. */
export const randomPrefix = (): string => `cloakroom-test:${randomBytes(6).toString('hex')}:`;

/**
 * A connected node-redis client on REDIS_URL, configured as docs/scaling.md advises (fail fast
 * while disconnected). Throws with the command that starts Redis if it cannot connect.
 */
export async function requireRedis(url = REDIS_URL): Promise<RedisClientType> {
  const client: RedisClientType = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2_000, reconnectStrategy: false },
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.destroy();
    throw new Error(
      `Redis is not reachable at ${safeUrl(url)} (${reason(error)}). These tests need a real Redis: ` +
        `start it with \`${START_REDIS}\`, or set REDIS_URL.`,
    );
  }
  return client;
}

/** Deletes every key starting with `prefix` (SCAN, not KEYS: never blocks the server). */
export async function deleteKeys(client: RedisClientType, prefix: string): Promise<void> {
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    if (keys.length > 0) await client.del(keys);
  }
}

/** A database of its own on the shared PostgreSQL, and how to drop it. */
export interface PostgresDatabase {
  /** A pool on the fresh database. */
  pool: pg.Pool;
  /** Its connection string. */
  url: string;
  name: string;
  /** Ends the pool and drops the database (even with connections left open). */
  drop(): Promise<void>;
}

/**
 * Creates `cloakroom_test_<random>` on DATABASE_URL and returns a pool on it. Throws with the
 * command that starts PostgreSQL if the server cannot be reached.
 */
export async function requirePostgres(url = DATABASE_URL): Promise<PostgresDatabase> {
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${safeUrl(url)} (${reason(error)}). These tests need a real ` +
        `PostgreSQL: start it with \`${START_POSTGRES}\`, or set DATABASE_URL.`,
    );
  }
  const name = `cloakroom_test_${randomBytes(6).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const dbUrl = new URL(url);
  dbUrl.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: dbUrl.href, max: 10, connectionTimeoutMillis: 5_000 });
  pool.on('error', () => {});
  return {
    pool,
    url: dbUrl.href,
    name,
    async drop() {
      await pool.end();
      const dropper = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/** A TCP port nothing listens on right now (nor on `port + offset`, for Redis Cluster's bus). */
export async function freePort(offset = 0): Promise<number> {
  for (;;) {
    const port = LOW_PORT + Math.floor(Math.random() * (HIGH_PORT - LOW_PORT - offset));
    if ((await listenOnce(port)) !== port) continue;
    if (offset === 0 || (await listenOnce(port + offset)) === port + offset) return port;
  }
}

/**
 * Ports are picked below Linux's ephemeral range (32768–60999 by default), the range outgoing
 * connections take their local port from. A port the kernel hands out with `listen(0)` comes from
 * that range too, so between this check and the service's own bind, any connection made anywhere
 * on the machine (a parallel test, a store client) could take it: a service then failed to start
 * with "address already in use". Below the range, only another listener can take it.
 */
const LOW_PORT = 10_000;
const HIGH_PORT = 32_000;

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(-1));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : -1;
      server.close(() => resolve(bound));
    });
  });
}

/** A redis-server child process this test started, and only this test kills. */
export interface RedisProcess {
  port: number;
  pid: number;
  /** Not yet exited. */
  alive(): boolean;
  /** SIGKILL (no graceful shutdown: what a crash or an OOM kill looks like), then wait for exit. */
  kill(): Promise<void>;
}

/**
 * Starts `redis-server` on `port` as a child process (nothing saved to disk) and waits until
 * it answers PING. `extra` adds arguments, e.g. the cluster ones.
 */
export async function startRedisServer(port: number, extra: string[] = []): Promise<RedisProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child: ChildProcess = spawn('redis-server', [...args, '--daemonize', 'no', ...extra], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // An exit before the first PONG (port taken, bad argument) must not pass for a start, even
  // if something else answers on that port.
  const failed = new Promise<never>((_, reject) => {
    child.once('error', reject);
    void exited.then(() => reject(new Error(`redis-server on port ${port} exited at start`)));
  });
  try {
    await Promise.race([waitForPong(port, 10_000), failed]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  failed.catch(() => {}); // it rejects again when the test kills the server
  const pid = child.pid;
  if (pid === undefined) throw new Error('redis-server did not start');
  return {
    port,
    pid,
    alive: () => child.exitCode === null && child.signalCode === null,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
      await exited;
    },
  };
}

/** Resolves once something on `port` answers `PING` with `+PONG`. */
export async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pong(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing answered PING on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (chunk) => done(chunk.toString().startsWith('+PONG')));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

/** Runs `redis-cli` with these arguments and returns what it printed. */
export async function redisCli(args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', args, { timeout: 30_000 });
  return stdout;
}
