import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type IncomingHttpHeaders, request } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// HTTPS in front of the login server, for tests a browser runs only over HTTPS with a
// certificate it trusts (device-bound sessions): a throwaway self-signed certificate for
// `localhost`, and a TLS-terminating reverse proxy on loopback in the way nginx or a load
// balancer is deployed (Host kept, X-Forwarded-Proto and X-Forwarded-For added).

/** A self-signed certificate for `localhost` (P-256, one day). */
export interface SelfSignedCert {
  /** PEM. */
  cert: string;
  /** PEM (unencrypted). */
  key: string;
  /**
   * base64 SHA-256 of its DER SubjectPublicKeyInfo: what Chromium's
   * `--ignore-certificate-errors-spki-list` takes to trust exactly this certificate.
   */
  spki: string;
}

/** Makes a {@link SelfSignedCert} with openssl (in a temporary directory, removed at once). */
export function selfSignedCert(): SelfSignedCert {
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-tls-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const cert = readFileSync(certPath, 'utf8');
    const key = readFileSync(keyPath, 'utf8');
    const der = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
    return { cert, key, spki: createHash('sha256').update(der).digest('base64') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One request the proxy passed on. Names only (never values: they hold credentials and
 * proofs), and whether the answer offered device-bound-session registration.
 */
export interface ProxiedRequest {
  method: string;
  /** Without the query. */
  path: string;
  /** Lower-case names of the request headers the browser sent. */
  headerNames: string[];
  /** The names of the cookies it carried, in order. */
  cookieNames: string[];
  /** When it arrived (ms since the epoch). */
  at: number;
  /** 0 until the upstream answered; 502 when it could not be reached. */
  status: number;
  /** How long the upstream took to answer (to its status line and headers), in ms; 0 until then. */
  ms: number;
  /** The answer carried `Secure-Session-Registration`. */
  offeredRegistration: boolean;
}

export interface TlsProxy {
  /** `https://localhost:PORT`: the origin the browser sees. */
  url: string;
  port: number;
  /** Every request, in the order they arrived. */
  requests: ProxiedRequest[];
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

/** `rawHeaders` (name, value, name, value …) without hop-by-hop ones: every Set-Cookie kept as sent. */
function endToEndRaw(raw: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!HOP.has(raw[i]!.toLowerCase())) kept.push(raw[i]!, raw[i + 1]!);
  }
  return kept;
}

/**
 * Starts an HTTPS server on 127.0.0.1 (a free port unless `port`) with `cert`, sending every
 * request to `target` (`http://127.0.0.1:PORT`) with its method, path, headers (Host unchanged)
 * and body, plus `X-Forwarded-Proto: https` and `X-Forwarded-For` (appended: the peer address);
 * the answer is streamed back with its status and every header. The upstream must trust the
 * proxy headers (`CLOAKROOM_TRUST_PROXY=true`) to see HTTPS and the client address.
 */
export async function startTlsProxy(target: string, cert: SelfSignedCert, port = 0): Promise<TlsProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const entry: ProxiedRequest = {
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0]!,
      headerNames: Object.keys(req.headers),
      cookieNames: (req.headers.cookie ?? '')
        .split(';')
        .map((c) => c.split('=')[0]!.trim())
        .filter((name) => name !== ''),
      at: Date.now(),
      status: 0,
      ms: 0,
      offeredRegistration: false,
    };
    requests.push(entry);
    const peer = req.socket.remoteAddress ?? '127.0.0.1';
    const forwardedFor = req.headers['x-forwarded-for'];
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: {
          ...endToEnd(req.headers),
          'x-forwarded-proto': 'https',
          'x-forwarded-for': forwardedFor ? `${forwardedFor}, ${peer}` : peer,
        },
        // One connection per request: nothing left open when the proxy closes.
        agent: false,
      },
      (answer) => {
        entry.status = answer.statusCode ?? 502;
        entry.ms = Date.now() - entry.at;
        entry.offeredRegistration = answer.headers['secure-session-registration'] !== undefined;
        res.writeHead(entry.status, answer.statusMessage, endToEndRaw(answer.rawHeaders));
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
    url: `https://localhost:${bound}`,
    port: bound,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
