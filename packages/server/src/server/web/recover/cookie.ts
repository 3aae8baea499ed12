import { RECOVERY_LINK_MS } from 'cloakroom';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';

/*
 * The recovery link's token, moved out of the URL by the link's first request. A page shown at
 * `/recover?token=…` would have the browser send that URL, token and all, as `Referer` with its
 * stylesheet request and its form post, and keep it in the history; in a cookie it goes only to
 * `/recover` itself.
 *
 * - `Path=/recover`: the stylesheet and every other page never get it. That rules out
 *   `__Host-` (RFC 6265bis §4.1.3.2 requires `Path=/`); over HTTPS the name has `__Secure-`
 *   (§4.1.3.1), so a plain-HTTP response cannot set or overwrite it.
 * - `SameSite=Lax`, not `Strict`: the link is opened from mail or chat, a navigation another
 *   site starts, and a `Strict` cookie is withheld from it and from its redirects (§5.2,
 *   §8.8); `Lax` is sent on a top-level GET and on the same-site form post.
 * - `HttpOnly`; `Max-Age` at most the link's remaining life, so a closed browser does not keep
 *   a dead token.
 */

const NAME = 'cloakroom-recover';
const PATH = '/recover';
const MAX_AGE_SECONDS = Math.floor(RECOVERY_LINK_MS / 1000);

const nameFor = (https: boolean) => (https ? `__Secure-${NAME}` : NAME);
const attributes = (https: boolean) => `; Path=${PATH}; HttpOnly; SameSite=Lax${https ? '; Secure' : ''}`;

/**
 * The `Set-Cookie` line holding `token` (already checked to be a recovery token: cookie-safe
 * base64url) for `lifeMs`, capped at a link's full life; `null` when no life is left.
 */
export function recoverCookie(https: boolean, token: string, lifeMs: number): string | null {
  const seconds = Math.min(Math.floor(lifeMs / 1000), MAX_AGE_SECONDS);
  if (seconds <= 0) return null;
  return `${nameFor(https)}=${token}${attributes(https)}; Max-Age=${seconds}`;
}

/** The `Set-Cookie` line that removes it (the link was used or is dead). */
export function clearRecoverCookie(https: boolean): string {
  return `${nameFor(https)}=${attributes(https)}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
}

/** The token the browser sent, if any. */
export function readRecoverCookie(c: Context, https: boolean): string | undefined {
  return getCookie(c, nameFor(https)) || undefined;
}
