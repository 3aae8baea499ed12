import { execFileSync } from 'node:child_process';

/**
 * Builds dist/ once before any test file runs: the CLI and multi-process tests start
 * `node dist/cli/main.js` as a real process, and one build avoids test files racing to write it.
 * tsc emits even when a type error remains; outside CI the tests then still run (on what was
 * emitted) with a warning, so one half-done file does not stop every test. CI type-checks first.
 */
export default function setup(): void {
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
      stdio: 'inherit',
    });
  } catch (error) {
    if (process.env.CI) throw error;
    process.stderr.write('\n[test setup] dist/ was built with type errors (above); running the tests anyway\n\n');
  }
}
