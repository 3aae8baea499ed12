import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const LIBRARY = fileURLToPath(new URL('./packages/cloakroom/', import.meta.url));
const { exports } = JSON.parse(readFileSync(`${LIBRARY}package.json`, 'utf8')) as {
  exports: Record<string, string | { default: string }>;
};

/**
 * In tests, `cloakroom` and its subpaths (imported by the server's source) resolve to the
 * library's source, the same files the tests import: one copy of each module, so an error class
 * thrown by a store is the class the server checks. Processes the tests spawn use the built dist/.
 */
export const alias = Object.entries(exports).flatMap(([subpath, target]) =>
  typeof target === 'string'
    ? []
    : [
        {
          find: new RegExp(`^cloakroom${subpath.slice(1).replace('/', '\\/')}$`),
          replacement: LIBRARY + target.default.replace('./dist/', 'src/').replace(/\.js$/, '.ts'),
        },
      ],
);

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
  },
});
