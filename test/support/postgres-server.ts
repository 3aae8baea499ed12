// A PostgreSQL server of a test's own: initdb into a temp dir, the postmaster as a child process
// on a free port, and the means to pause (SIGSTOP), resume, kill -9 and restart it. Only the pids
// of that cluster are ever signalled.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** Where initdb and postgres live: `pg_config --bindir`, or POSTGRES_BIN, or Debian's PostgreSQL 15. */
async function binDir(): Promise<string> {
  if (process.env.POSTGRES_BIN) return process.env.POSTGRES_BIN;
  try {
    return (await run('pg_config', ['--bindir'])).stdout.trim();
  } catch {
    return '/usr/lib/postgresql/15/bin';
  }
}

// PostgreSQL refuses to run as root: then its commands run as the `postgres` user, in a
// directory that user owns. setpriv execs in place (runuser would fork and wait, and stop
// itself whenever its child is stopped), so the spawned pid is the postmaster itself.
const asRoot = process.getuid?.() === 0;
const command = (file: string, args: string[]): [string, string[]] =>
  asRoot
    ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', file, ...args]]
    : [file, args];

/** A PostgreSQL cluster this test created, and only this test signals. */
export interface PostgresServer {
  port: number;
  dir: string;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust auth). */
  url: string;
  /** The postmaster's pid (from postmaster.pid). */
  readonly pid: number;
  /** SIGSTOP to the postmaster and every backend: connections stay open, nothing answers. */
  pause(): void;
  /** SIGCONT to the same processes. */
  resume(): void;
  /** kill -9 the postmaster (a crash), then waits until every process of the cluster is gone. */
  kill(): Promise<void>;
  /** Starts the postmaster again on the same port and data directory. */
  restart(): Promise<void>;
  /** Kills whatever still runs and deletes the data directory. */
  remove(): Promise<void>;
}

/** initdb (trust auth, no fsync) and start, waiting until it accepts connections. */
export async function startPostgresServer(port: number): Promise<PostgresServer> {
  const bin = await binDir();
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-pg-'));
  if (asRoot) {
    const { uid, gid } = await postgresUser();
    chownSync(dir, uid, gid);
  }
  const [initdb, initArgs] = command(join(bin, 'initdb'), [
    '-D',
    dir,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
    '--no-instructions',
  ]);
  await run(initdb, initArgs, { timeout: 60_000 });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child = await startPostmaster(bin, dir, port, url);
  let pid = postmasterPid(dir);
  // Paused or killed processes of this cluster, so resume and cleanup reach exactly those.
  let paused: number[] = [];

  const server: PostgresServer = {
    port,
    dir,
    url,
    get pid() {
      return pid;
    },
    pause() {
      // The postmaster first, so it forks no new backend while the others are stopped.
      paused = [pid, ...childrenOf(pid)];
      for (const p of paused) signal(p, 'SIGSTOP');
    },
    resume() {
      for (const p of paused) signal(p, 'SIGCONT');
      paused = [];
    },
    async kill() {
      const all = [pid, ...childrenOf(pid)];
      signal(pid, 'SIGKILL');
      // A stopped backend cannot notice that its postmaster died: let it run on and exit.
      for (const p of paused) signal(p, 'SIGCONT');
      paused = [];
      await waitFor(() => all.every((p) => !alive(p)), 15_000, 'the killed cluster to exit');
      await exited(child);
    },
    async restart() {
      child = await startPostmaster(bin, dir, port, url);
      pid = postmasterPid(dir);
    },
    async remove() {
      if (alive(pid)) await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}

async function startPostmaster(bin: string, dir: string, port: number, url: string): Promise<ChildProcess> {
  const [file, args] = command(join(bin, 'postgres'), [
    '-D',
    dir,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'max_connections=40',
  ]);
  let output = '';
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  let gone = false;
  child.once('exit', () => {
    gone = true;
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`postgres on port ${port} exited at start:\n${output}`);
    if (await accepts(url)) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`postgres on port ${port} did not accept connections within 30 s:\n${output}`);
}

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function postmasterPid(dir: string): number {
  const file = join(dir, 'postmaster.pid');
  const pid = existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : Number.NaN;
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`no postmaster.pid in ${dir}`);
  return pid;
}

/** The pids whose parent is `parent` (the postmaster's backends and helpers), from /proc. */
function childrenOf(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/PID/stat is the parent pid; field 2 (the name) may contain spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    // A zombie still "exists" for kill(0); /proc says whether it has really exited.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
