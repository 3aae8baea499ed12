import { ConfigError } from './errors.js';
import { type IncomingRequest, isSafeMethod } from './request.js';

/** Why an unsafe request was refused before its token was looked at. */
export type OriginRefusal = 'cross-site' | 'same-site' | 'foreign-origin' | 'null-origin';

/**
 * Normalises the configured trusted origins. Each must be an exact `scheme://host[:port]`:
 * wildcards and `*` are refused, because a credentialed wildcard disables the check
 * (no wildcard allowlists).
 */
export function normalizeTrustedOrigins(
  origins: readonly string[],
  option = 'trustedOrigins',
): ReadonlySet<string> {
  const out = new Set<string>();
  for (const raw of origins) {
    const text = raw.trim();
    if (text === '') continue;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ConfigError(
        option,
        `${JSON.stringify(text)} is not an origin such as https://app.example.com`,
      );
    }
    if (
      text.includes('*') ||
      (url.protocol !== 'https:' && url.protocol !== 'http:') ||
      url.origin !== text.replace(/\/$/, '')
    ) {
      throw new ConfigError(
        option,
        `${JSON.stringify(text)} must be an exact origin such as https://app.example.com (no wildcard, no path)`,
      );
    }
    out.add(url.origin);
  }
  return out;
}

/** The request's own origin, from how it arrived. */
export function ownOrigin(request: IncomingRequest): string | null {
  return request.host ? `${request.https ? 'https' : 'http'}://${request.host}` : null;
}

/**
 * The first CSRF gate for unsafe methods (OWASP CSRF cheat sheet, "Fetch Metadata" and
 * "Verify Origin"): a request that says it comes from another origin is refused before any
 * token is considered. `Sec-Fetch-Site: same-site` (a sibling subdomain, another port) is
 * refused too, because SameSite cookies do not stop it. A request with no Origin and no
 * Fetch Metadata passes this gate and must then present a valid token.
 * Returns `null` when the request may go on.
 */
export function checkOrigin(request: IncomingRequest, trusted: ReadonlySet<string>): OriginRefusal | null {
  if (isSafeMethod(request.method)) return null;
  const origin = request.headers.get('origin') ?? null;
  const site = request.headers.get('sec-fetch-site') ?? null;
  const isTrusted = origin !== null && trusted.has(origin);
  if (site === 'cross-site' && !isTrusted) return 'cross-site';
  if (site === 'same-site' && !isTrusted) return 'same-site';
  if (origin === null) return null;
  if (origin === 'null') return 'null-origin';
  if (isTrusted || origin === ownOrigin(request)) return null;
  return 'foreign-origin';
}
