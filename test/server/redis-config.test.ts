import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConfigError } from '../../packages/cloakroom/src/core/errors.js';
import { type Env, loadConfig } from '../../packages/server/src/server/boot/config.js';
import { storeTargets } from '../../packages/server/src/server/boot/stores.js';
import { TEST_SECRET } from '../support/server.js';

// REDIS_CLUSTER_NODES and REDIS_SENTINELS (+ REDIS_SENTINEL_MASTER…): what is accepted, and one
// line naming the variable for every mistake, never echoing a value that may hold a password.
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cloakroom-redis-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const load = (env: Env) => loadConfig({ CLOAKROOM_DATA_DIR: dir, CLOAKROOM_SECRETS: TEST_SECRET, ...env });

function errorOf(env: Env): ConfigError {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('REDIS_CLUSTER_NODES', () => {
  test('host:port and redis:// entries; the credentials given once apply to every node', () => {
    const config = load({ REDIS_CLUSTER_NODES: 'redis://ops:s3cr%40t@10.0.0.1:7000, 10.0.0.2:7001,redis-3' });
    expect(config.redisCluster).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: 'redis-3', port: 6379 },
      ],
      auth: { username: 'ops', password: 's3cr@t' },
      tls: false,
    });
    expect(config.redisUrl).toBeNull();
    expect(config.redisSentinel).toBeNull();
  });

  test('rediss:// turns TLS on; IPv6 in brackets', () => {
    const config = load({ REDIS_CLUSTER_NODES: 'rediss://[::1]:7000,rediss://:pw@[::1]:7001' });
    expect(config.redisCluster).toEqual({
      nodes: [
        { host: '::1', port: 7000 },
        { host: '::1', port: 7001 },
      ],
      auth: { password: 'pw' },
      tls: true,
    });
  });

  test('the start-up line names the seeds, never the credentials', () => {
    const config = load({ REDIS_CLUSTER_NODES: 'redis://:hunter2@10.0.0.1:7000,[::1]:7001' });
    const target = storeTargets(config).sessions;
    expect(target).toEqual({ store: 'redis', at: 'cluster 10.0.0.1:7000,[::1]:7001' });
    expect(JSON.stringify(target)).not.toContain('hunter2');
  });

  const refused: Array<[string, string, RegExp]> = [
    ['an empty entry', 'h1:7000,,h2:7001', /empty entry/],
    ['another scheme', 'http://h1:7000', /entry 1 must start with redis:\/\/ or rediss:\/\//],
    ['a database', 'redis://h1:7000/2', /entry 1: .*database 0 only/],
    ['a query', 'h1:7000,redis://h2:7001?password=x', /entry 2: only host and port/],
    ['not an address', 'h1:7000,h2:port', /entry 2 is not host:port/],
    ['mixed TLS', 'redis://h1:7000,rediss://h2:7001', /mixes redis:\/\/ and rediss:\/\//],
    ['two passwords', 'redis://:a@h1:7000,redis://:b@h2:7001', /different credentials/],
    ['the same node twice', 'h1:7000,redis://h1:7000', /same host:port twice/],
  ];
  test.each(refused)('refuses %s, naming the variable and not the value', (_, value, message) => {
    const error = errorOf({ REDIS_CLUSTER_NODES: value });
    expect(error.option).toBe('REDIS_CLUSTER_NODES');
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('password=x');
    expect(error.message).not.toMatch(/:a@|:b@/);
  });
});

describe('REDIS_SENTINELS + REDIS_SENTINEL_MASTER', () => {
  test('sentinel addresses (default port 26379), their credentials, and the master’s own', () => {
    const config = load({
      REDIS_SENTINELS: 'redis://:sentinel-pw@s1,s2:26380,s3',
      REDIS_SENTINEL_MASTER: 'mymaster',
      REDIS_SENTINEL_MASTER_USERNAME: 'cloakroom',
      REDIS_SENTINEL_MASTER_PASSWORD: 'data-pw',
    });
    expect(config.redisSentinel).toEqual({
      masterName: 'mymaster',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: 's3', port: 26379 },
      ],
      sentinelAuth: { password: 'sentinel-pw' },
      masterAuth: { username: 'cloakroom', password: 'data-pw' },
      tls: false,
    });
    const target = storeTargets(config).sessions;
    expect(target).toEqual({ store: 'redis', at: 'sentinel mymaster via s1:26379,s2:26380,s3:26379' });
    expect(JSON.stringify(target)).not.toMatch(/pw/);
  });

  const refused: Array<[string, Env, string, RegExp]> = [
    [
      'no master name',
      { REDIS_SENTINELS: 's1:26379' },
      'REDIS_SENTINEL_MASTER',
      /is required with REDIS_SENTINELS/,
    ],
    [
      'a master name with a space',
      { REDIS_SENTINELS: 's1', REDIS_SENTINEL_MASTER: 'my master' },
      'REDIS_SENTINEL_MASTER',
      /printable ASCII, no spaces or commas/,
    ],
    [
      'a master name without sentinels',
      { REDIS_SENTINEL_MASTER: 'mymaster' },
      'REDIS_SENTINEL_MASTER',
      /only used with REDIS_SENTINELS/,
    ],
    [
      'a master password without sentinels',
      { REDIS_URL: 'redis://h:6379', REDIS_SENTINEL_MASTER_PASSWORD: 'x' },
      'REDIS_SENTINEL_MASTER_PASSWORD',
      /only used with REDIS_SENTINELS/,
    ],
    [
      'a master user without a password',
      { REDIS_SENTINELS: 's1', REDIS_SENTINEL_MASTER: 'm', REDIS_SENTINEL_MASTER_USERNAME: 'u' },
      'REDIS_SENTINEL_MASTER_USERNAME',
      /needs REDIS_SENTINEL_MASTER_PASSWORD/,
    ],
    [
      'a bad sentinel entry',
      { REDIS_SENTINELS: 's1,redis://:pw@s2:x', REDIS_SENTINEL_MASTER: 'm' },
      'REDIS_SENTINELS',
      /entry 2 is not host:port/,
    ],
  ];
  test.each(refused)('refuses %s', (_, env, variable, message) => {
    const error = errorOf(env);
    expect(error.option).toBe(variable);
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/:pw@/);
  });
});

describe('one Redis topology at a time', () => {
  test.each([
    [
      { REDIS_URL: 'redis://h:6379', REDIS_CLUSTER_NODES: 'h:7000' },
      'REDIS_CLUSTER_NODES',
      'REDIS_URL and REDIS_CLUSTER_NODES',
    ],
    [
      { REDIS_URL: 'redis://h:6379', REDIS_SENTINELS: 's1' },
      'REDIS_SENTINELS',
      'REDIS_URL and REDIS_SENTINELS',
    ],
    [
      { REDIS_CLUSTER_NODES: 'h:7000', REDIS_SENTINELS: 's1', REDIS_SENTINEL_MASTER: 'm' },
      'REDIS_SENTINELS',
      'REDIS_CLUSTER_NODES and REDIS_SENTINELS',
    ],
  ] as Array<[Env, string, string]>)('%o is refused', (env, variable, named) => {
    const error = errorOf(env);
    expect(error.option).toBe(variable);
    expect(error.message).toContain(
      `set only one of REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS (got ${named})`,
    );
  });

  test('none set: no Redis at all', () => {
    const config = load({});
    expect([config.redisUrl, config.redisCluster, config.redisSentinel]).toEqual([null, null, null]);
  });
});
