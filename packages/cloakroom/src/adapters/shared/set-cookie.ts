/** The cookie name of a `Set-Cookie` value (`name=value; attributes`). */
export function cookieNameOf(setCookie: string): string {
  const end = setCookie.indexOf('=');
  return (end === -1 ? setCookie : setCookie.slice(0, end)).trim();
}

/**
 * The `Set-Cookie` list after adding `added` to what a response already holds (`undefined`, a
 * string or a list, as `getHeader` returns it). Earlier values for a cookie name that is added
 * again are dropped, so the last value per name wins: when the middleware clears a stale cookie
 * and the handler then signs in, the browser gets only the new session, never two values whose
 * order decides the outcome (RFC 6265bis §5.7 leaves that to the user agent's parsing order).
 */
export function mergeSetCookie(existing: unknown, added: readonly string[]): string[] {
  const names = new Set(added.map(cookieNameOf));
  const previous =
    typeof existing === 'string' ? [existing] : Array.isArray(existing) ? existing.map(String) : [];
  const kept = previous.filter((cookie) => !names.has(cookieNameOf(cookie)));
  // Within `added` itself the last value per name wins as well.
  const last = new Map<string, string>();
  for (const cookie of added) last.set(cookieNameOf(cookie), cookie);
  return [...kept, ...last.values()];
}

/** What {@link appendSetCookie} needs of a `node:http` `ServerResponse` (Express's `res` is one). */
export interface HeaderSink {
  getHeader(name: string): unknown;
  setHeader(name: string, value: string | string[]): unknown;
}

/**
 * Adds session cookies to a `node:http` response right away (no patching of `res.end`), and
 * marks it `Cache-Control: no-store`: a response that sets a session cookie must never be
 * stored by a shared cache.
 */
export function appendSetCookie(res: HeaderSink, cookies: readonly string[]): void {
  if (cookies.length === 0) return;
  res.setHeader('Set-Cookie', mergeSetCookie(res.getHeader('set-cookie'), cookies));
  res.setHeader('Cache-Control', 'no-store');
}
