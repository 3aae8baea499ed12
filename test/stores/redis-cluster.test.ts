import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCluster } from 'redis';
import { afterAll, describe, expect, test } from 'vitest';
import { createRedisStore } from '../../packages/cloakroom/src/stores/redis/index.js';
import {
  counterStoreConformance,
  sessionStoreConformance,
} from '../../packages/cloakroom/src/testing/index.js';
import { sessionRecord } from '../../packages/cloakroom/src/testing/session-fixtures.js';
import {
  freePort,
  type RedisProcess,
  randomPrefix,
  redisCli,
  startRedisServer,
} from '../support/services.js';

// A real 3-master Redis Cluster of this file's own, from redis-server child processes, thrown
// away (killed by pid) afterwards. It shows that no operation of the store is cross-slot:
// a session and its user's index land on different nodes, and every suite still passes.
const dir = mkdtempSync(join(tmpdir(), 'cloakroom-cluster-'));
const nodes: RedisProcess[] = [];

async function startCluster(): Promise<number[]> {
  const ports: number[] = [];
  // The cluster bus listens on port + 10000: both must be free.
  for (let i = 0; i < 3; i++) ports.push(await freePort(10_000));
  for (const port of ports) {
    nodes.push(
      await startRedisServer(port, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--dir',
        dir,
      ]),
    );
  }
  const addresses = ports.map((port) => `127.0.0.1:${port}`);
  await redisCli(['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
  const deadline = Date.now() + 20_000;
  for (const port of ports) {
    while (!(await redisCli(['-p', String(port), 'cluster', 'info'])).includes('cluster_state:ok')) {
      if (Date.now() > deadline) throw new Error(`cluster node ${port} never reached cluster_state:ok`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return ports;
}

async function stopCluster(): Promise<void> {
  for (const node of nodes.splice(0)) await node.kill();
  rmSync(dir, { recursive: true, force: true });
}

let ports: number[];
try {
  ports = await startCluster();
} catch (error) {
  await stopCluster();
  throw error;
}

const cluster = createCluster({
  rootNodes: ports.map((port) => ({ url: `redis://127.0.0.1:${port}` })),
  defaults: { disableOfflineQueue: true, socket: { connectTimeout: 2_000 } },
});
cluster.on('error', () => {});
await cluster.connect();

afterAll(async () => {
  cluster.destroy();
  await stopCluster();
});

const t = { describe, test };

// Each test gets a prefix of its own; the whole cluster is thrown away afterwards, so there
// are no keys to clean up one by one.
sessionStoreConformance('redis cluster', t, async () => ({
  store: createRedisStore({ client: cluster, prefix: randomPrefix() }).sessions,
}));
counterStoreConformance('redis cluster', t, async () => ({
  store: createRedisStore({ client: cluster, prefix: randomPrefix() }).counters,
}));

describe('redis cluster: no cross-slot operation', () => {
  test("one user's sessions spread over several nodes are listed and revoked exactly", async () => {
    const prefix = randomPrefix();
    const { sessions } = createRedisStore({ client: cluster, prefix });
    const records = Array.from({ length: 30 }, () => sessionRecord({ userId: 'user-spread' }));
    for (const record of records) await sessions.create(record);

    const owners = new Set<number>();
    for (const record of records) {
      owners.add(masterOf(await cluster.clusterKeySlot(`${prefix}s:${record.id}`)));
    }
    expect(owners.size).toBeGreaterThan(1);

    expect((await sessions.listByUser('user-spread', Date.now())).length).toBe(30);
    expect(await sessions.deleteByUser('user-spread', records[0]!.id)).toBe(29);
    expect((await sessions.listByUser('user-spread', Date.now())).map((r) => r.id)).toEqual([records[0]!.id]);
    expect(await sessions.delete(records[0]!.id)).toBe(true);
    expect(await sessions.listByUser('user-spread', Date.now())).toEqual([]);
  });
});

/** Which master (by index in `cluster.masters`) serves this slot. */
function masterOf(slot: number): number {
  const node = cluster.slots[slot]?.master;
  return node === undefined ? -1 : cluster.masters.indexOf(node);
}
