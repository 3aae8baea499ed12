import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { HeaderSource, IncomingRequest } from '../../core/request.js';

/** What {@link fromNodeRequest} reads of a `node:http` request (Express and Fastify's `raw` are ones). */
export type NodeRequestLike = Pick<IncomingMessage, 'method' | 'headers'> & {
  socket?: { remoteAddress?: string | undefined; encrypted?: boolean } | null;
};

/**
 * `get(name)` over Node's lower-cased header object. Node already joins repeated headers
 * (`Cookie` with `; `, most others with `, `); a list that is left is joined like a Web `Headers`.
 */
export function nodeHeaders(headers: IncomingHttpHeaders): HeaderSource {
  return {
    get(name) {
      const value = headers[name.toLowerCase()];
      if (value === undefined) return null;
      return typeof value === 'string' ? value : value.join(', ');
    },
  };
}

/**
 * Builds the core's {@link IncomingRequest} from a `node:http` request. `https` comes from the
 * TLS socket and `ip` from the peer address; with `trustProxy` the first entries of
 * `X-Forwarded-Proto` / `-Host` / `-For` win, as in `fromWebRequest`. The framework's own
 * proxy setting (Express `trust proxy`, Fastify `trustProxy`) is deliberately not consulted:
 * whether the cookie is `Secure` must not depend on a setting made for another purpose.
 */
export function fromNodeRequest(req: NodeRequestLike, trustProxy: boolean): IncomingRequest {
  const headers = nodeHeaders(req.headers);
  let https = req.socket?.encrypted === true;
  // HTTP/2 requests carry the host in the `:authority` pseudo-header.
  let host = headers.get('host') ?? headers.get(':authority');
  let ip = req.socket?.remoteAddress ?? null;
  if (trustProxy) {
    const proto = firstForwarded(headers.get('x-forwarded-proto'));
    if (proto) https = proto.toLowerCase() === 'https';
    host = firstForwarded(headers.get('x-forwarded-host')) ?? host;
    ip = firstForwarded(headers.get('x-forwarded-for')) ?? ip;
  }
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    headers,
    https,
    host: host ? host.toLowerCase() : null,
    ip,
  };
}

/** The client-most entry of a comma-separated forwarding header. */
function firstForwarded(value: string | null | undefined): string | null {
  if (!value) return null;
  const first = value.split(',')[0]?.trim();
  return first ? first : null;
}
