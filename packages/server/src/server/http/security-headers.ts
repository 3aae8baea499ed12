/** Pages carry no script; styles come only from /assets/cloakroom.css. */
const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The pages that offer passkeys (web/passkey-ui.tsx) run one script: /assets/passkeys.js,
 * which fetches our own JSON API. So they, and only they, get `script-src 'self'` and
 * `connect-src 'self'`: no inline script, no other origin, no eval, and Trusted Types on
 * (the module writes no HTML), so even an injected string cannot become script.
 */
const SCRIPT_PAGE_CSP = `${CSP}; script-src 'self'; connect-src 'self'; require-trusted-types-for 'script'; trusted-types 'none'`;

/**
 * What a page with the passkey module sets on its own response, over {@link SECURITY_HEADERS}
 * (the node adapter's `writeHead` merges a route's headers over the ones set up front, so the
 * page sends one CSP, this one). Chosen per route: every other answer costs nothing more.
 */
export const SCRIPT_PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': SCRIPT_PAGE_CSP,
});

/**
 * Headers on every answer of the server, error pages and 404s included. A route may override
 * one (the stylesheet is cacheable) by setting it on its own response.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form posts,
  // which the CSRF origin gate would (rightly) refuse. Other sites still get no Referer.
  'Referrer-Policy': 'same-origin',
  // No script at all, styles only from our own stylesheet, forms only to ourselves, no framing.
  'Content-Security-Policy': CSP,
  // Every answer depends on who asks; nothing may be kept by a shared cache or the back button.
  'Cache-Control': 'no-store',
});

const ENTRIES = Object.entries(SECURITY_HEADERS);

type Fetch<E> = (request: Request, env: E) => Response | Promise<Response>;

/**
 * Wraps the app's `fetch` for `@hono/node-server`: the headers go straight onto the Node
 * response before the app runs, and `writeHead` merges the app's own headers over them.
 * Why not a Hono middleware calling `c.header()`: that makes every response build and
 * iterate an undici `Headers` object, and a handler could not answer with a plain-object
 * `Response` (the node adapter's cheapest path) without losing them.
 */
export function withSecurityHeaders<
  E extends { outgoing: { setHeader(name: string, value: string): unknown } },
>(fetch: Fetch<E>): Fetch<E> {
  return (request, env) => {
    const outgoing = env.outgoing;
    for (const [name, value] of ENTRIES) outgoing.setHeader(name, value);
    return fetch(request, env);
  };
}
