import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

/** Where tsc remembers what it emitted, so a run with nothing changed rewrites nothing in dist/. */
const BUILD_INFO = 'node_modules/.cache/cloakroom/test-build.tsbuildinfo';

/**
 * Builds dist/ once before any test file runs: the CLI and multi-process tests start
 * `node dist/cli/main.js` as a real process, and one build avoids test files racing to write it.
 * The build is incremental: only changed files are re-emitted, so a second test run started
 * while another is running does not rewrite the files the first one's processes are loading.
 * tsc emits even when a type error remains; outside CI the tests then still run (on what was
 * emitted) with a warning, so one half-done file does not stop every test. CI type-checks first.
 */
export default function setup(): void {
  // Without dist/ the remembered state is wrong: start from scratch.
  if (!existsSync('dist/cli/main.js')) rmSync(BUILD_INFO, { force: true });
  try {
    execFileSync(
      process.execPath,
      [
        'node_modules/typescript/bin/tsc',
        '-p',
        'tsconfig.build.json',
        '--incremental',
        '--tsBuildInfoFile',
        BUILD_INFO,
      ],
      { stdio: 'inherit' },
    );
  } catch (error) {
    if (process.env.CI) throw error;
    process.stderr.write(
      '\n[test setup] dist/ was built with type errors (above); running the tests anyway\n\n',
    );
  }
}
