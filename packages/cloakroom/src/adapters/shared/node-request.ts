import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import {
  firstForwarded,
  type HeaderSource,
  type IncomingRequest,
  lastForwarded,
} from '../../core/request.js';

/** What {@link fromNodeRequest} reads of a `node:http` request (Express and Fastify's `raw` are ones). */
export type NodeRequestLike = Pick<IncomingMessage, 'method' | 'headers'> & {
  socket?: { remoteAddress?: string | undefined; encrypted?: boolean } | null;
};

/**
 * `get(name)` over Node's lower-cased header object. Node already joins repeated headers
 * (`Cookie` with `; `, most others with `, `); a list that is left (a test client's, or a
 * framework's injected request) is joined the same way: cookie crumbs with `; ` (RFC 9113
 * §8.2.3, RFC 6265 §5.4), like a Web `Headers` does, anything else with `, `.
 */
export function nodeHeaders(headers: IncomingHttpHeaders): HeaderSource {
  return {
    get(name) {
      const key = name.toLowerCase();
      const value = headers[key];
      if (value === undefined) return null;
      return typeof value === 'string' ? value : value.join(key === 'cookie' ? '; ' : ', ');
    },
  };
}

/**
 * Builds the core's {@link IncomingRequest} from a `node:http` request. `https` comes from the
 * TLS socket and `ip` from the peer address; with `trustProxy` `X-Forwarded-Proto` / `-Host` /
 * `-For` are read as in `fromWebRequest` (first, first and last entry). The framework's own
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
    ip = lastForwarded(headers.get('x-forwarded-for')) ?? ip;
  }
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    headers,
    https,
    host: host ? host.toLowerCase() : null,
    ip,
  };
}
