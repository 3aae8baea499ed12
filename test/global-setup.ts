import { execFileSync } from 'node:child_process';

/**
 * Builds dist/ once before any test file runs: the CLI and multi-process tests start
 * `node dist/cli/main.js` as a real process, and one build avoids test files racing to write it.
 */
export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}
