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
  /** Honour `X-Forwarded-Proto` / `X-Forwarded-Host` / `X-Forwarded-For`. Only behind a proxy you run. */
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
    ip = firstForwarded(headers.get('x-forwarded-for')) ?? ip;
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
 * The first (client-most) entry of a comma-separated forwarding header. Only meaningful when
 * the proxy in front overwrites the header rather than appending a client-supplied one.
 */
function firstForwarded(value: string | null): string | null {
  if (!value) return null;
  const first = value.split(',')[0]?.trim();
  return first ? first : null;
}

/** GET, HEAD and OPTIONS never change state, so they are never CSRF-checked. */
export function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}
