import { ConfigError } from 'cloakroom';
import type { Env } from './secrets.js';

/** One Redis address of a list (a cluster seed, a sentinel). */
export interface RedisAddress {
  host: string;
  port: number;
}

/** ACL user and password; either may be absent. */
export interface RedisAuth {
  username?: string;
  password?: string;
}

/** `REDIS_CLUSTER_NODES`: seeds of a Redis Cluster; the client learns the other nodes from them. */
export interface RedisClusterSettings {
  nodes: RedisAddress[];
  /** Used on every node of the cluster, the seeds and the ones it reports. */
  auth: RedisAuth;
  tls: boolean;
}

/** `REDIS_SENTINELS` + `REDIS_SENTINEL_MASTER`: the primary that Sentinel names, followed across fail-overs. */
export interface RedisSentinelSettings {
  masterName: string;
  sentinels: RedisAddress[];
  /** For the sentinels themselves (from their URLs). */
  sentinelAuth: RedisAuth;
  /** For the primary and its replicas (`REDIS_SENTINEL_MASTER_USERNAME` / `_PASSWORD`). */
  masterAuth: RedisAuth;
  /** `rediss://` sentinels: TLS to the sentinels and to the data nodes. */
  tls: boolean;
}

export interface RedisTopology {
  redisCluster: RedisClusterSettings | null;
  redisSentinel: RedisSentinelSettings | null;
}

const TOPOLOGY_VARIABLES = ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const;

function fail(variable: string, message: string): never {
  throw new ConfigError(variable, message);
}

/**
 * Reads the Redis topology beside `REDIS_URL` (one node): a cluster or a Sentinel set-up.
 * At most one of the three may be set; every mistake names its variable and never echoes a
 * value (a URL may hold a password).
 */
export function loadRedisTopology(env: Env): RedisTopology {
  const set = TOPOLOGY_VARIABLES.filter((name) => env[name]);
  if (set.length > 1) {
    fail(set[1]!, `set only one of ${TOPOLOGY_VARIABLES.join(', ')} (got ${set.join(' and ')})`);
  }
  for (const name of [
    'REDIS_SENTINEL_MASTER',
    'REDIS_SENTINEL_MASTER_USERNAME',
    'REDIS_SENTINEL_MASTER_PASSWORD',
  ]) {
    if (env[name] && !env.REDIS_SENTINELS) fail(name, 'is only used with REDIS_SENTINELS');
  }
  return { redisCluster: cluster(env), redisSentinel: sentinel(env) };
}

function cluster(env: Env): RedisClusterSettings | null {
  const list = addressList(env, 'REDIS_CLUSTER_NODES', 6379);
  if (list === null) return null;
  return { nodes: list.addresses, auth: list.auth, tls: list.tls };
}

function sentinel(env: Env): RedisSentinelSettings | null {
  const list = addressList(env, 'REDIS_SENTINELS', 26379);
  if (list === null) return null;
  const masterName = env.REDIS_SENTINEL_MASTER;
  if (!masterName) {
    fail(
      'REDIS_SENTINEL_MASTER',
      'is required with REDIS_SENTINELS: the name the sentinels monitor (e.g. mymaster)',
    );
  }
  if (!/^[\x21-\x7e]{1,200}$/.test(masterName) || masterName.includes(',')) {
    fail('REDIS_SENTINEL_MASTER', 'must be the monitored name: printable ASCII, no spaces or commas');
  }
  const masterAuth: RedisAuth = {};
  if (env.REDIS_SENTINEL_MASTER_USERNAME) masterAuth.username = env.REDIS_SENTINEL_MASTER_USERNAME;
  if (env.REDIS_SENTINEL_MASTER_PASSWORD) masterAuth.password = env.REDIS_SENTINEL_MASTER_PASSWORD;
  if (masterAuth.username && !masterAuth.password) {
    fail('REDIS_SENTINEL_MASTER_USERNAME', 'needs REDIS_SENTINEL_MASTER_PASSWORD');
  }
  return { masterName, sentinels: list.addresses, sentinelAuth: list.auth, masterAuth, tls: list.tls };
}

interface AddressList {
  addresses: RedisAddress[];
  auth: RedisAuth;
  tls: boolean;
}

/**
 * A comma-separated list of `host:port` or `redis[s]://[user:pass@]host[:port]` entries. The
 * scheme and the credentials apply to every node (the client also connects to nodes that are
 * not in the list), so entries may give them once or repeat them, but never differ.
 */
function addressList(env: Env, variable: string, defaultPort: number): AddressList | null {
  const raw = env[variable];
  if (!raw) return null;
  const entries = raw.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => entry === '')) {
    fail(variable, 'has an empty entry; give a comma-separated list such as h1:7000,h2:7001');
  }
  const addresses: RedisAddress[] = [];
  const schemes = new Set<string>();
  const credentials = new Set<string>();
  let auth: RedisAuth = {};
  for (const [i, entry] of entries.entries()) {
    const n = i + 1;
    const explicit = entry.includes('://');
    let url: URL;
    try {
      url = new URL(explicit ? entry : `redis://${entry}`);
    } catch {
      fail(variable, `entry ${n} is not host:port or redis://host:port (the value is not shown)`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      fail(variable, `entry ${n} must start with redis:// or rediss://, or be host:port`);
    }
    if (!url.hostname) fail(variable, `entry ${n} has no host`);
    if ((url.pathname !== '' && url.pathname !== '/' && url.pathname !== '/0') || url.search || url.hash) {
      fail(
        variable,
        `entry ${n}: only host and port (and credentials) are read; ` +
          (variable === 'REDIS_CLUSTER_NODES'
            ? 'Redis Cluster has database 0 only'
            : 'the data nodes are used on database 0'),
      );
    }
    if (explicit) schemes.add(url.protocol);
    if (url.username || url.password) {
      const entryAuth: RedisAuth = {};
      if (url.username) entryAuth.username = decodeURIComponent(url.username);
      if (url.password) entryAuth.password = decodeURIComponent(url.password);
      credentials.add(JSON.stringify([entryAuth.username ?? '', entryAuth.password ?? '']));
      auth = entryAuth;
    }
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    addresses.push({ host, port: url.port ? Number(url.port) : defaultPort });
  }
  if (schemes.size > 1)
    fail(variable, 'mixes redis:// and rediss:// entries; TLS is on for all nodes or none');
  if (credentials.size > 1) {
    fail(
      variable,
      'entries carry different credentials; every node is reached with the same user and password',
    );
  }
  const seen = new Set(addresses.map((a) => `${a.host}:${a.port}`));
  if (seen.size < addresses.length) fail(variable, 'names the same host:port twice');
  return { addresses, auth, tls: schemes.has('rediss:') };
}

/** `host:port,host:port` for logs: never credentials. */
export function addressesText(addresses: RedisAddress[]): string {
  return addresses.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(',');
}
