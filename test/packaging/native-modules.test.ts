import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Loaded {
  /** Every native addon opened (`process.dlopen`), by file. */
  native: string[];
  /** Third-party packages whose files were loaded, by name. */
  packages: string[];
}

/**
 * Imports `specifier` in a fresh Node process, by its public name, as a user's app does: from the
 * built package (the test setup builds dist/), resolved through node_modules like any dependency.
 * Native addons reach a process only through `process.dlopen`, so wrapping it sees every one;
 * a module hook lists the packages whose modules were imported (a CommonJS package's entry
 * included; what that entry `require`s in turn is not listed, but any addon it opens is).
 */
async function load(specifier: string): Promise<Loaded> {
  const list = join(mkdtempSync(join(tmpdir(), 'cloakroom-load-')), 'loaded');
  // A module hook (it runs on its own thread in Node 20) appends each loaded file's URL to `list`.
  const hook = `
    import { appendFileSync } from 'node:fs';
    let list;
    export function initialize(data) { list = data.list; }
    export async function load(url, context, next) { appendFileSync(list, url + '\\n'); return next(url, context); }
  `;
  const script = `
    import { register } from 'node:module';
    const native = [];
    const dlopen = process.dlopen;
    process.dlopen = function (module, filename, ...rest) {
      native.push(filename);
      return dlopen.call(this, module, filename, ...rest);
    };
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}), { data: { list: ${JSON.stringify(list)} } });
    await import(${JSON.stringify(specifier)});
    console.log(JSON.stringify(native));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    timeout: 15_000,
  });
  const native = JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as string[];
  const packages = new Set<string>();
  for (const url of readFileSync(list, 'utf8').split('\n')) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m?.[1]) packages.add(m[1]);
  }
  rmSync(dirname(list), { recursive: true, force: true });
  return { native, packages: [...packages].sort() };
}

describe('importing the library loads no native module unless the piece needs one', () => {
  test.each([
    'cloakroom',
    'cloakroom/sqlite',
    'cloakroom/hono',
    'cloakroom/express',
    'cloakroom/fastify',
    'cloakroom/node',
    'cloakroom/memory',
    'cloakroom/redis',
    'cloakroom/postgres',
  ])('import %s opens no .node file, and no driver or hasher package', async (specifier) => {
    const { native, packages } = await load(specifier);
    expect(native).toEqual([]);
    // cloakroom/sqlite is the one piece that brings its driver (it opens the database file itself).
    const own = specifier === 'cloakroom/sqlite' ? ['better-sqlite3'] : [];
    for (const heavy of [
      'better-sqlite3',
      '@node-rs/argon2',
      '@node-rs/bcrypt',
      'pg',
      'redis',
      '@redis/client',
    ]) {
      if (!own.includes(heavy)) expect(packages, `${specifier} loaded ${heavy}`).not.toContain(heavy);
    }
  });

  // The control: the probe sees a native module where one belongs. (better-sqlite3 opens its
  // addon only when the first database is opened, so cloakroom/sqlite imports without one too.)
  test('import cloakroom/passwords opens argon2, not bcrypt (loaded on the first bcrypt hash only)', async () => {
    const { native } = await load('cloakroom/passwords');
    expect(native.some((file) => /argon2.*\.node$/.test(file))).toBe(true);
    expect(native.some((file) => /bcrypt.*\.node$/.test(file))).toBe(false);
  });
});

describe("the library's package.json asks for nothing a user may not need", () => {
  const manifest = JSON.parse(readFileSync(resolve(ROOT, 'packages/cloakroom/package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  };

  test('drivers, frameworks and hashers are optional peer dependencies, never dependencies', () => {
    const optional = ['better-sqlite3', 'hono', 'express', 'fastify', '@node-rs/argon2', '@node-rs/bcrypt'];
    for (const name of optional) {
      expect(manifest.dependencies ?? {}, name).not.toHaveProperty(name);
      expect(manifest.peerDependencies ?? {}, name).toHaveProperty(name);
      expect(manifest.peerDependenciesMeta?.[name]?.optional, name).toBe(true);
    }
    // The Redis and PostgreSQL stores take a client the application made: no driver at all.
    for (const name of ['pg', 'redis', 'pino', 'prom-client', '@hono/node-server', 'bowser']) {
      expect({ ...manifest.dependencies, ...manifest.peerDependencies }, name).not.toHaveProperty(name);
    }
  });
});
