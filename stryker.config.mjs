// @ts-check
/**
 * Mutation testing of the session core, the auth use cases and passkeys: `npm run mutation`.
 * What the score means and how to read the report: docs/mutation.md.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: {
    // Only the in-process unit tests of core and auth, and no global setup that builds dist/.
    configFile: 'vitest.mutation.config.ts',
  },
  mutate: [
    'packages/cloakroom/src/core/**/*.ts',
    'packages/cloakroom/src/auth/**/*.ts',
    'packages/cloakroom/src/passkeys/**/*.ts',
    '!packages/cloakroom/src/**/index.ts',
  ],
  // Each mutant runs only the tests that reached it: a mutant in cookie.ts does not pay for the
  // seconds of argon2 hashing in the throttling tests.
  coverageAnalysis: 'perTest',
  // The machine is shared (2 cores): one test process, one mutant at a time.
  concurrency: 1,
  // A mutant's run may take its tests' normal time x2, plus 10 s: real argon2id at OWASP
  // parameters makes a throttling test take seconds, and more on a busy machine. Longer than
  // that is an infinite loop (the mutant counts as detected, "Timeout").
  timeoutFactor: 2,
  timeoutMS: 10_000,
  dryRunTimeoutMinutes: 10,
  // Static mutants (module-level constants) are kept: they include the key-derivation labels,
  // the cookie-name grammar and the token length, which are guarantees, not noise.
  ignoreStatic: false,
  // Nothing is excluded. StringLiteral would drop the error messages, whose text no caller
  // branches on, but with them the cookie names, the key purpose labels and the CSRF labels.
  mutator: { excludedMutations: [] },
  // TypeScript 7 (the native compiler) has no JavaScript API, which Stryker's sandbox step that
  // rewrites a tsconfig's `extends` and `references` calls. Ours has neither: point that step at no file.
  tsconfigFile: 'no-tsconfig-to-rewrite.json',
  ignorePatterns: ['dist', 'data', 'coverage', 'reports', '.bench', 'test/e2e/screenshots'],
  reporters: ['clear-text', 'progress', 'html'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  clearTextReporter: { reportTests: false },
  thresholds: { high: 90, low: 75, break: null },
  tempDirName: '.stryker-tmp',
};
