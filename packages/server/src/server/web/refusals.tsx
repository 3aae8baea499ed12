import type { User } from 'cloakroom';
import type { Refusal } from 'cloakroom/hono';
import type { Context } from 'hono';
import { MessagePage } from './layout.js';

/** JSON for the API and forward auth; HTML pages for everything a browser navigates to. */
export function isApiPath(path: string): boolean {
  return path.startsWith('/api/') || path.startsWith('/auth/') || path === '/api';
}

/** A guard's refusal on a page: signed-out → /login and back; 403 → a real page. */
export function pageRefusal(c: Context, refusal: Refusal, csrf?: string): Response {
  if (refusal.status === 401) {
    const url = new URL(c.req.url);
    const back = c.req.method === 'GET' ? `${url.pathname}${url.search}` : '/account';
    return c.redirect(`/login?next=${encodeURIComponent(back)}`, 303);
  }
  const text =
    refusal.error === 'csrf'
      ? 'This form was sent from another site or has expired. Go back, reload the page and try again.'
      : 'You do not have access to this page.';
  // The visitor may well still be signed in (a refused forgery changes nothing): keep the header.
  const user = (c.get('user' as never) as User | null | undefined) ?? null;
  return c.html(
    <MessagePage status={403} title="Request refused" text={text} user={user} {...(csrf ? { csrf } : {})} />,
    403,
  ) as Response;
}

/** An error page for a status (404, 400, 503, 413, 500). */
export function pageError(
  c: Context,
  status: 400 | 404 | 413 | 500 | 503,
  title: string,
  text: string,
): Response {
  return c.html(<MessagePage status={status} title={title} text={text} />, status) as Response;
}
