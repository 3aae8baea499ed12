// A real nginx for the forward-auth tests: its own config, temp dir, port and process.
// A missing nginx is a FAILURE with the command that installs it, never a skip: a green run
// must mean the documented nginx configuration was exercised for real.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const INSTALL = 'apt-get install -y nginx-light';

/** The nginx binary: on PATH, or Debian's /usr/sbin/nginx (not on a non-root PATH). */
export function nginxBinary(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || fail();
  } catch {
    return fail();
  }
}

function fail(): never {
  throw new Error(
    `nginx is not installed, and the forward-auth tests need a real one: run \`${INSTALL}\` ` +
      '(.ci/run does this when nginx is missing).',
  );
}

/** A running nginx this test started (and only this test stops). */
export interface NginxProcess {
  port: number;
  origin: string;
  dir: string;
  /** nginx's error log so far (useful in assertion messages). */
  errorLog(): string;
  stop(): Promise<void>;
}

/**
 * The global part of an nginx config that keeps every file nginx writes inside `dir`, runs in
 * the foreground as one process (`master_process off`: no workers switching to another user,
 * one pid to stop), and wraps `http` (the caller's `http { … }` contents).
 */
export function nginxConfig(dir: string, http: string): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${http}
}
`;
}

/**
 * Writes `config` to `<dir>/nginx.conf`, checks it with `nginx -t`, starts `nginx -c … -p …`
 * and waits until it answers on `port`.
 */
export async function startNginx(config: string, port: number, dir?: string): Promise<NginxProcess> {
  const binary = nginxBinary();
  const root = dir ?? mkdtempSync(join(tmpdir(), 'cloakroom-nginx-'));
  mkdirSync(join(root, 'logs'), { recursive: true });
  const confPath = join(root, 'nginx.conf');
  writeFileSync(confPath, config);
  const args = ['-c', confPath, '-p', root, '-e', join(root, 'error.log')];
  try {
    execFileSync(binary, ['-t', ...args], { stdio: 'pipe' });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    throw new Error(`nginx -t refused the generated config:\n${stderr}\n${config}`);
  }
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const origin = `http://127.0.0.1:${port}`;
  const errorLog = () => {
    try {
      return readFileSync(join(root, 'error.log'), 'utf8');
    } catch {
      return stderr;
    }
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nginx exited at start:\n${stderr}\n${errorLog()}`);
    }
    try {
      await fetch(`${origin}/`, { signal: AbortSignal.timeout(1_000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`nginx did not answer on ${origin} within 10 s:\n${errorLog()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const pid = child.pid;
  return {
    port,
    origin,
    dir: root,
    errorLog,
    async stop() {
      // SIGQUIT: graceful shutdown; SIGKILL after 5 s if it has not gone.
      if (pid !== undefined && child.exitCode === null && child.signalCode === null) {
        process.kill(pid, 'SIGQUIT');
        const timer = setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
        }, 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** One request the protected service received. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The "protected service": records every request and echoes the X-Auth-* headers it got. */
export interface EchoServer {
  port: number;
  received: Received[];
  close(): Promise<void>;
}

/** Starts the echo upstream on `127.0.0.1:<free port>`. */
export async function startEchoServer(): Promise<EchoServer> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const auth = Object.fromEntries(
        Object.entries(req.headers).filter(([name]) => /^x[-_]auth[-_]/i.test(name)),
      );
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, auth }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('echo server has no port');
  return {
    port: address.port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
