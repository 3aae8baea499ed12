#!/usr/bin/env node
// How long the `cloakroom` CLI takes from start to exit: `secret new` and `user list` (SQLite, a
// temporary data dir with a few users created through the CLI), each run N times as a fresh
// process; prints the median and the maximum wall time in ms.
//
//   npm run build && node bench/cli-start.mjs [N] [MAIN]
//
// N defaults to 10; MAIN to packages/server/dist/cli/main.js (another build's main.js measures
// that one: two builds run one after the other on the same machine compare fairly). Builds
// nothing: it measures the dist as it is.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = resolve(
  process.argv[3] ?? fileURLToPath(new URL('../packages/server/dist/cli/main.js', import.meta.url)),
);
const runs = Number(process.argv[2] ?? 10);
const dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-cli-start-'));
const env = { ...process.env, CLOAKROOM_DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
delete env.DATABASE_URL;
delete env.REDIS_URL;

try {
  for (const name of ['alice', 'bob', 'carol']) {
    execFileSync(process.execPath, [CLI, 'user', 'add', name, '--password-stdin'], {
      env,
      input: 'correct horse battery staple 42\n',
      stdio: ['pipe', 'ignore', 'inherit'],
    });
  }
  for (const args of [
    ['secret', 'new'],
    ['user', 'list'],
  ]) {
    const times = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      const run = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
      times.push(performance.now() - start);
      if (run.status !== 0) throw new Error(`cloakroom ${args.join(' ')} failed: ${run.stderr}`);
    }
    times.sort((a, b) => a - b);
    const mid = times.length >> 1;
    const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
    const label = `cloakroom ${args.join(' ')}`.padEnd(22);
    console.log(`${label} median ${median.toFixed(0)} ms, max ${times.at(-1).toFixed(0)} ms (${runs} runs)`);
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
