import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';

/*
 * `@simplewebauthn/server` is an optional peer dependency: only `cloakroom/passkeys` loads it.
 * Each entry is imported by its public name, from the built package (the test setup builds
 * dist/), in a fresh Node process whose module hook lists every package a module was loaded from.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function packagesLoadedBy(specifier: string): Promise<string[]> {
  const list = join(mkdtempSync(join(tmpdir(), 'cloakroom-entry-')), 'loaded');
  const hook = `
    import { appendFileSync } from 'node:fs';
    let list;
    export function initialize(data) { list = data.list; }
    export async function load(url, context, next) { appendFileSync(list, url + '\\n'); return next(url, context); }
  `;
  const script = `
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}), { data: { list: ${JSON.stringify(list)} } });
    await import(${JSON.stringify(specifier)});
  `;
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    timeout: 15_000,
  });
  const packages = new Set<string>();
  for (const url of readFileSync(list, 'utf8').split('\n')) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m?.[1]) packages.add(m[1]);
  }
  rmSync(dirname(list), { recursive: true, force: true });
  return [...packages];
}

describe('the WebAuthn library is loaded by cloakroom/passkeys only', () => {
  test.each(['cloakroom', 'cloakroom/memory', 'cloakroom/hono', 'cloakroom/node', 'cloakroom/testing'])(
    'import %s does not load @simplewebauthn/server',
    async (specifier) => {
      expect(await packagesLoadedBy(specifier)).not.toContain('@simplewebauthn/server');
    },
  );

  test('import cloakroom/passkeys does (the control)', async () => {
    expect(await packagesLoadedBy('cloakroom/passkeys')).toContain('@simplewebauthn/server');
  });
});
