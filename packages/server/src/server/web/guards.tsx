import type { CloakroomEnv } from 'cloakroom/hono';
import type { MiddlewareHandler } from 'hono';
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
