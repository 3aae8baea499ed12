import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { alias } from './vitest.config.js';

/**
 * Quickest test files first. Vitest runs the slowest first (best for a parallel run), but Stryker
 * stops a mutant's run at its first failing test: with the argon2-heavy auth files first, a
 * mutant that a 1 ms core test kills would still wait seconds for them. A file that failed in
 * the previous run (it killed the previous mutant, usually a neighbour) still goes first.
 */
class QuickestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { cache, config } = this.ctx;
    const known = (spec: TestSpecification) =>
      cache.getFileTestResults(`${spec.project.name}:${relative(config.root, spec.moduleId)}`);
    const rank = (spec: TestSpecification) => {
      const result = known(spec);
      if (!result) return Number.POSITIVE_INFINITY; // not timed yet (the dry run times every file)
      return result.failed ? -1 : result.duration;
    };
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

/**
 * The tests `npm run mutation` (Stryker) runs against mutated `packages/cloakroom/src/core`,
 * `packages/cloakroom/src/auth` and `packages/cloakroom/src/passkeys`: the unit tests of those
 * directories and the memory store's conformance suite. They run on in-process stores (memory,
 * SQLite `:memory:`) and real crypto, and none of them starts `dist/`, so unlike
 * `vitest.config.ts` there is no global setup that builds it: a mutant is tested against the
 * sources Stryker instrumented, never against a build. One exception to "in-process":
 * test/auth/credential-races.test.ts also runs against the local Redis and PostgreSQL (it is the
 * only test of `packages/cloakroom/src/auth/accounts`), so those must be up, as for `npm test`.
 */
export default defineConfig({
  resolve: { alias },
  test: {
    include: [
      'test/core/**/*.test.ts',
      'test/auth/**/*.test.ts',
      'test/passkeys/**/*.test.ts',
      'test/conformance/memory.test.ts',
    ],
    // It imports the built package in a child process: it tests the published entries, not a mutant.
    exclude: ['test/passkeys/entry-points.test.ts'],
    // Real argon2id at OWASP parameters: a test that hashes a few dozen passwords takes seconds.
    testTimeout: 20_000,
    hookTimeout: 30_000,
    sequence: { sequencer: QuickestFirst },
  },
});
