import { createServer, type IncomingHttpHeaders, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the proxy passed on: to which upstream (index into `targets`). */
export interface Forwarded {
  method: string;
  /** Without the query. */
  path: string;
  target: number;
  status: number;
}

export interface RoundRobinProxy {
  /** `http://localhost:PORT`: the one origin the browser sees. */
  url: string;
  port: number;
  /** Every request, in the order they arrived. */
  forwarded: Forwarded[];
  close(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 7.6.1): they describe one connection, not the message. */
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP.has(name)));
}

/**
 * A load balancer in a few lines, on loopback: each request goes to the next upstream in turn
 * (strict round robin, per request, not per connection), with its Host header unchanged, so
 * every instance sees the one public origin. Two requests in a row (a ceremony's options, then
 * its finish) therefore always reach different instances.
 */
export async function startRoundRobinProxy(targets: readonly string[], port = 0): Promise<RoundRobinProxy> {
  if (targets.length === 0) throw new Error('no upstream');
  const upstreams = targets.map((t) => new URL(t));
  const forwarded: Forwarded[] = [];
  let turn = 0;
  const server = createServer((req, res) => {
    const target = turn;
    turn = (turn + 1) % upstreams.length;
    const upstream = upstreams[target]!;
    const entry: Forwarded = {
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0]!,
      target,
      status: 0,
    };
    forwarded.push(entry);
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: endToEnd(req.headers),
      },
      (answer) => {
        entry.status = answer.statusCode ?? 502;
        res.writeHead(entry.status, endToEnd(answer.headers));
        answer.pipe(res);
      },
    );
    out.on('error', () => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway');
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://localhost:${bound}`,
    port: bound,
    forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
