/** Anything with `get(name)` for headers: Web `Headers`, or a thin wrapper over `node:http`. */
export interface HeaderSource {
  get(name: string): string | null | undefined;
}

/**
 * What the core needs to know about a request. Adapters build it from their framework's
 * request; deciding `https`, `host` and `ip` (and whether to trust proxy headers for them)
 * is the adapter's job, done once per request.
 */
export interface IncomingRequest {
  /** Upper-case HTTP method. */
  method: string;
  headers: HeaderSource;
  /** Whether the client reached us over HTTPS (directly, or via a trusted proxy). */
  https: boolean;
  /** The host the client addressed (`example.com:8443`), lower-case, or `null`. */
  host: string | null;
  /** The client address, or `null` when unknown. */
  ip: string | null;
}

/** Options for {@link fromWebRequest}. */
export interface FromWebRequestOptions {
  /**
   * Honour `X-Forwarded-Proto` / `X-Forwarded-Host` (first entry: what the outermost proxy saw)
   * and `X-Forwarded-For` (last entry: the address the proxy in front of us saw). Only behind a
   * proxy you run.
   */
  trustProxy?: boolean;
  /** The peer address of the connection, if the runtime knows it. */
  remoteAddress?: string | null;
}

/**
 * Builds an {@link IncomingRequest} from a Web `Request`.
 * @example
 * const incoming = fromWebRequest(c.req.raw, { remoteAddress: '127.0.0.1' });
 */
export function fromWebRequest(request: Request, options: FromWebRequestOptions = {}): IncomingRequest {
  const headers = request.headers;
  const url = request.url;
  let https = url.startsWith('https:');
  let host = headers.get('host');
  let ip = options.remoteAddress ?? null;
  if (options.trustProxy) {
    const proto = firstForwarded(headers.get('x-forwarded-proto'));
    if (proto) https = proto.toLowerCase() === 'https';
    host = firstForwarded(headers.get('x-forwarded-host')) ?? host;
    ip = lastForwarded(headers.get('x-forwarded-for')) ?? ip;
  }
  if (!host) {
    const schemeEnd = url.indexOf('://');
    if (schemeEnd !== -1) {
      const pathStart = url.indexOf('/', schemeEnd + 3);
      host = url.slice(schemeEnd + 3, pathStart === -1 ? undefined : pathStart);
    }
  }
  return { method: request.method.toUpperCase(), headers, https, host: host ? host.toLowerCase() : null, ip };
}

/**
 * The first (client-most) entry of a comma-separated forwarding header: for the scheme and host
 * the browser used. A client that forges them only misleads the answer to its own request.
 */
export function firstForwarded(value: string | null | undefined): string | null {
  if (!value) return null;
  const first = value.split(',')[0]?.trim();
  return first ? first : null;
}

/**
 * The last entry of `X-Forwarded-For`: the peer address the proxy in front of us saw, which it
 * either wrote alone (nginx `$remote_addr`) or appended to whatever the client sent (nginx
 * `$proxy_add_x_forwarded_for`, most load balancers). The first entry would be the client's own
 * claim behind an appending proxy, letting it pick a new address for every sign-in attempt and
 * escape the per-IP throttle.
 */
export function lastForwarded(value: string | null | undefined): string | null {
  if (!value) return null;
  const last = value.slice(value.lastIndexOf(',') + 1).trim();
  return last ? last : null;
}

/** GET, HEAD and OPTIONS never change state, so they are never CSRF-checked. */
export function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}
