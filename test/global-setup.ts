import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

/** The two packages in build order: the server compiles against the library's dist/ types. */
const PACKAGES = [
  { dir: 'packages/cloakroom', output: 'packages/cloakroom/dist/index.js' },
  { dir: 'packages/server', output: 'packages/server/dist/cli/main.js' },
];

/**
 * Builds both packages' dist/ once before any test file runs: the CLI and multi-process tests
 * start `node packages/server/dist/cli/main.js` as a real process, examples and doc snippets
 * import `cloakroom` by name (the built library), and one build avoids test files racing to
 * write it. The build is incremental (tsc remembers what it emitted under
 * node_modules/.cache/cloakroom/): only changed files are re-emitted, so a second test run
 * started while another is running does not rewrite the files the first one's processes are
 * loading. tsc emits even when a type error remains; outside CI the tests then still run (on
 * what was emitted) with a warning, so one half-done file does not stop every test. CI
 * type-checks first.
 */
export default function setup(): void {
  for (const { dir, output } of PACKAGES) {
    const buildInfo = `node_modules/.cache/cloakroom/${dir.replace('packages/', '')}.tsbuildinfo`;
    // Without dist/ the remembered state is wrong: start from scratch.
    if (!existsSync(output)) rmSync(buildInfo, { force: true });
    try {
      execFileSync(
        process.execPath,
        [
          'node_modules/typescript/bin/tsc',
          '-p',
          `${dir}/tsconfig.build.json`,
          '--incremental',
          '--tsBuildInfoFile',
          buildInfo,
        ],
        { stdio: 'inherit' },
      );
    } catch (error) {
      if (process.env.CI) throw error;
      process.stderr.write(
        `\n[test setup] ${dir}/dist was built with type errors (above); running the tests anyway\n\n`,
      );
    }
  }
}
