// Real Redis topologies of a test file's own: a Redis Cluster with a replica per primary, and a
// primary + replica watched by three sentinels. Every process is a child of the test, killed by
// pid afterwards; every wait polls a condition (INFO, CLUSTER INFO, SENTINEL …) up to a deadline.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type RedisProcess, redisCli, startRedisServer } from './services.js';

/**
 * Fails with what to install when a Redis binary is missing: these tests start real processes
 * and must never pass (or skip) without them.
 */
export function requireRedisBinaries(): void {
  for (const binary of ['redis-server', 'redis-cli']) {
    try {
      execFileSync(binary, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(
        `${binary} is not on PATH. These tests start real Redis processes (a cluster, sentinels): ` +
          'install Redis ≥ 7 (e.g. `apt-get install redis-server`, `brew install redis`).',
      );
    }
  }
}

/** Polls `check` every 50 ms until it holds; throws `what` after `ms`. */
export async function waitUntil(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `redis-cli -p <port> [-a <password>] <args…>`: what it printed. */
export function cli(port: number, args: string[], password?: string): Promise<string> {
  const auth = password ? ['-a', password, '--no-auth-warning'] : [];
  return redisCli(['-p', String(port), ...auth, ...args]);
}

/** `INFO <section>` of the Redis on `port`, as `field → value`. */
export async function info(port: number, section: string, password?: string): Promise<Map<string, string>> {
  const text = await cli(port, ['info', section], password);
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/**
 * Resolves once every replica of the primary on `port` has acknowledged all the primary has
 * written so far: what was acknowledged before survives a fail-over. (Replicas acknowledge
 * every second, so this takes up to about a second.)
 */
export async function waitReplicated(port: number, password?: string): Promise<void> {
  const target = Number((await info(port, 'replication', password)).get('master_repl_offset'));
  await waitUntil(`replicas of ${port} at offset ${target}`, async () => {
    const fields = await info(port, 'replication', password);
    const replicas = Number(fields.get('connected_slaves') ?? 0);
    if (replicas === 0) return false;
    for (let i = 0; i < replicas; i++) {
      const offset = /offset=(\d+)/.exec(fields.get(`slave${i}`) ?? '');
      if (!offset || Number(offset[1]) < target) return false;
    }
    return true;
  });
}

/** A Redis Cluster: 3 primaries, each with one replica. */
export interface RedisCluster {
  /** Seeds for REDIS_CLUSTER_NODES: every node. */
  ports: number[];
  /** The node on `port`, to kill. */
  node(port: number): RedisProcess;
  /** Ports of the current primaries, as the node on `askPort` sees them. */
  primaries(askPort: number): Promise<number[]>;
  /** Port of the replica of the primary on `port`. */
  replicaOf(port: number): Promise<number>;
  /** Resolves once every live node reports cluster_state:ok. */
  waitOk(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts 6 cluster-enabled redis-servers and joins them with `redis-cli --cluster create …
 * --cluster-replicas 1`. `nodeTimeoutMs` is `cluster-node-timeout`: how long a silent primary
 * goes before the others call it failed and its replica takes over.
 */
export async function startRedisCluster(nodeTimeoutMs: number, password: string): Promise<RedisCluster> {
  requireRedisBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-cluster-'));
  const nodes = new Map<number, RedisProcess>();
  const stop = async () => {
    for (const node of nodes.values()) await node.kill();
    nodes.clear();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    // The cluster bus listens on port + 10000: both must be free.
    for (let i = 0; i < 6; i++) ports.push(await freePort(10_000));
    for (const port of ports) {
      nodes.set(
        port,
        await startRedisServer(port, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
          '--dir',
          dir,
          // A replica's first sync starts at once (by default the primary waits 5 s for others).
          '--repl-diskless-sync-delay',
          '0',
        ]),
      );
      await protect(port, password);
    }
    await redisCli([
      '-a',
      password,
      '--no-auth-warning',
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
    const alive = () => ports.filter((port) => nodes.get(port)?.alive());
    const cluster: RedisCluster = {
      ports,
      node(port) {
        const node = nodes.get(port);
        if (!node) throw new Error(`no cluster node on ${port}`);
        return node;
      },
      async primaries(askPort) {
        const text = await cli(askPort, ['cluster', 'nodes'], password);
        return (
          text
            .split('\n')
            .map((line) => line.split(' '))
            // A primary that serves slots: fields after the 8th are its slot ranges.
            .filter((f) => /\bmaster\b/.test(f[2] ?? '') && !/\bfail\b/.test(f[2] ?? '') && f.length > 8)
            .map((f) => Number(/:(\d+)@/.exec(f[1] ?? '')?.[1]))
        );
      },
      async replicaOf(port) {
        const id = (await cli(port, ['cluster', 'myid'], password)).trim();
        const text = await cli(port, ['cluster', 'nodes'], password);
        const line = text.split('\n').find((l) => l.includes(`slave ${id}`));
        const replica = Number(/:(\d+)@/.exec(line ?? '')?.[1]);
        if (!replica) throw new Error(`the primary on ${port} has no replica`);
        return replica;
      },
      async waitOk() {
        for (const port of alive()) {
          await waitUntil(`cluster node ${port}: cluster_state:ok`, async () =>
            (await cli(port, ['cluster', 'info'], password)).includes('cluster_state:ok'),
          );
        }
      },
      stop,
    };
    await cluster.waitOk();
    // `cluster_state:ok` comes before every node has heard which nodes are replicas: wait until
    // each sees 3 primaries serving slots and 3 replicas.
    for (const port of ports) {
      await waitUntil(`node ${port} sees 3 primaries and 3 replicas`, async () => {
        const text = await cli(port, ['cluster', 'nodes'], password);
        const replicas = text.split('\n').filter((line) => /\bslave\b/.test(line.split(' ')[2] ?? ''));
        return replicas.length === 3 && (await cluster.primaries(port)).length === 3;
      });
    }
    // Every primary's replica is attached and in sync, so killing any primary can fail over.
    for (const port of await cluster.primaries(ports[0]!)) {
      await waitUntil(
        `a replica in sync with ${port} (${await cli(port, ['cluster', 'nodes'], password)})`,
        async () => {
          const fields = await info(port, 'replication', password);
          return fields.get('connected_slaves') === '1' && /state=online/.test(fields.get('slave0') ?? '');
        },
      );
    }
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A primary, its replica and three sentinels monitoring them as `name`. */
export interface SentinelSetup {
  name: string;
  sentinelPorts: number[];
  /** The data nodes by port (the primary first, as started). */
  dataPorts: number[];
  node(port: number): RedisProcess;
  /** The primary's port as the sentinel on `sentinelPort` reports it. */
  primary(sentinelPort?: number): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts a primary, a replica of it and three `redis-server --sentinel` processes (quorum 2),
 * and waits until the replica is in sync and every sentinel knows the replica and the two
 * other sentinels (so a fail-over can be authorised). `downAfterMs` is
 * `down-after-milliseconds`: how long a silent primary goes before it is called down.
 */
export async function startSentinelSetup(
  downAfterMs: number,
  passwords: { data: string; sentinel: string },
  name = 'cloakroom-primary',
): Promise<SentinelSetup> {
  requireRedisBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-sentinel-'));
  const nodes = new Map<number, RedisProcess>();
  const stop = async () => {
    for (const node of nodes.values()) await node.kill();
    nodes.clear();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const primaryPort = await freePort();
    const options = ['--dir', dir, '--repl-diskless-sync-delay', '0'];
    nodes.set(primaryPort, await startRedisServer(primaryPort, options));
    await protect(primaryPort, passwords.data);
    const replicaPort = await freePort();
    nodes.set(replicaPort, await startRedisServer(replicaPort, options));
    await protect(replicaPort, passwords.data);
    await cli(replicaPort, ['replicaof', '127.0.0.1', String(primaryPort)], passwords.data);
    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const file = join(dir, `sentinel-${port}.conf`);
      // Sentinel rewrites its file as it learns the topology: one file each.
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `requirepass ${passwords.sentinel}`,
          `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
          `sentinel auth-pass ${name} ${passwords.data}`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      nodes.set(port, await startSentinel(file, port));
      sentinelPorts.push(port);
    }
    await waitUntil('the replica in sync', async () => {
      const fields = await info(replicaPort, 'replication', passwords.data);
      return fields.get('master_link_status') === 'up';
    });
    for (const port of sentinelPorts) {
      await waitUntil(`sentinel ${port} knows the replica and the other sentinels`, async () => {
        const text = await cli(port, ['sentinel', 'master', name], passwords.sentinel);
        const lines = text.split('\n').map((l) => l.trim());
        const field = (key: string) => lines[lines.indexOf(key) + 1];
        return field('num-slaves') === '1' && field('num-other-sentinels') === '2';
      });
    }
    return {
      name,
      sentinelPorts,
      dataPorts: [primaryPort, replicaPort],
      node(port) {
        const node = nodes.get(port);
        if (!node) throw new Error(`no process on ${port}`);
        return node;
      },
      async primary(sentinelPort = sentinelPorts[0]!) {
        const text = await cli(
          sentinelPort,
          ['sentinel', 'get-master-addr-by-name', name],
          passwords.sentinel,
        );
        return Number(text.trim().split('\n')[1]);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Sets a password on a running node, and the one it gives its primary (all nodes share it).
 * Set after start-up: the start waits for a `PONG`, which a protected server does not give.
 */
async function protect(port: number, password: string): Promise<void> {
  await cli(port, ['config', 'set', 'masterauth', password, 'requirepass', password]);
}

/** Resolves once the server on `port` answers PING (`+PONG`, or `-NOAUTH` when it has a password). */
async function waitForAnswer(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answered = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(500, () => done(false));
      socket.once('error', () => done(false));
      socket.once('data', (chunk) => done(/^(\+PONG|-NOAUTH)/.test(chunk.toString())));
      socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    });
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing answered PING on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** `redis-server <file> --sentinel` as a child process, once it answers PING. */
async function startSentinel(file: string, port: number): Promise<RedisProcess> {
  const child: ChildProcess = spawn('redis-server', [file, '--sentinel'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', reject);
    void exited.then(() => reject(new Error(`sentinel on port ${port} exited at start`)));
  });
  try {
    await Promise.race([waitForAnswer(port, 10_000), failed]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  failed.catch(() => {});
  const pid = child.pid;
  if (pid === undefined) throw new Error('redis-server --sentinel did not start');
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
