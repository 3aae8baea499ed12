import type { CloakroomEnv } from 'cloakroom/hono';
import type { Context, MiddlewareHandler } from 'hono';
import type { ServerDeps } from '../http/context.js';
import { MessagePage } from './layout.js';

/** Pages need a signed-in user: a signed-out browser goes to /login and comes back afterwards. */
export function pageUser(): MiddlewareHandler<CloakroomEnv> {
  return async (c, next) => {
    if (!c.get('user') || !c.get('session')) {
      const url = new URL(c.req.url);
      const back = c.req.method === 'GET' ? `${url.pathname}${url.search}` : '/account';
      return c.redirect(`/login?next=${encodeURIComponent(back)}`, 303);
    }
    await next();
  };
}

/** Admin pages: a signed-in non-admin gets a proper 403 page. */
export function pageAdmin(deps: ServerDeps): MiddlewareHandler<CloakroomEnv> {
  return async (c, next) => {
    if (!c.get('user')?.roles.includes('admin')) {
      return c.html(
        <MessagePage
          status={403}
          title="Admins only"
          text="This page needs the admin role. Ask an administrator if you need access."
          user={c.get('user')}
          csrf={deps.sessions.csrfToken(c.get('session')!)}
        />,
        403,
      );
    }
    await next();
  };
}

/**
 * The way to `/reauth` and back to `page`: for a change the account action refused with
 * `reauth_required`, and for {@link pageRecent}. The form's data is not kept (it may hold a
 * password); the person sends it again once confirmed.
 */
export function toReauth(c: Context, page: string): Response {
  return c.redirect(`/reauth?next=${encodeURIComponent(page)}`, 303);
}

/**
 * Sensitive changes (password, sessions elsewhere, the second factor, every admin change) need
 * a proof of the factors within the re-authentication window (`CLOAKROOM_REAUTH_WINDOW`;
 * OWASP ASVS 6.2.x / 7.5.x: re-authenticate before sensitive transactions). Outside it a POST
 * goes to `/reauth?next=<page>` and comes back to `page`. The account actions check the same
 * window themselves; this guard only spares the person a form answered with a refusal.
 */
export function pageRecent(deps: ServerDeps, page: string): MiddlewareHandler<CloakroomEnv> {
  return async (c, next) => {
    const session = c.get('session');
    if (c.req.method === 'POST' && session && !deps.sessions.isRecent(session)) return toReauth(c, page);
    await next();
  };
}
