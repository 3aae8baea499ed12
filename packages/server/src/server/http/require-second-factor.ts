import type { CloakroomEnv } from 'cloakroom/hono';
import type { MiddlewareHandler } from 'hono';
import { isApiPath } from '../web/refusals.js';
import { errorResponse } from './errors.js';

/** Where a user who must enrol is sent, and the page that enrols. */
export const ENROL_PAGE = '/account/second-factor';

/**
 * Paths a user who must enrol may still use: what enrols (the second-factor page and its forms,
 * the API behind them), what confirms a password for it (`/reauth`), what signs out, what shows
 * who is signed in (`GET /api/session`, so a single-page app can tell why it is refused), the
 * stylesheet, and the sign-in and recovery steps, which act on no session (they replace it).
 */
function mayUse(method: string, path: string): boolean {
  if (path === ENROL_PAGE || path.startsWith(`${ENROL_PAGE}/`)) return true;
  if (path === '/api/account/second-factor' || path.startsWith('/api/account/second-factor/')) return true;
  if (path === '/api/session') return method === 'GET' || method === 'HEAD';
  switch (path) {
    case '/logout':
    case '/api/logout':
    case '/reauth':
    case '/api/reauth':
    case '/login':
    case '/login/second-factor':
    case '/api/login':
    case '/api/login/second-factor':
    case '/recover':
    case '/api/recover':
      return true;
    default:
      return path.startsWith('/assets/');
  }
}

/**
 * `CLOAKROOM_REQUIRE_2FA_ROLES`: a signed-in user with one of `roles` and no second factor
 * enrolled may use nothing but enrolment and sign-out until they enrol. The API (and
 * `/auth/verify`, so a protected service refuses them too) answers `403 second_factor_required`;
 * a page sends the browser to the enrolment page. The user is the one the auth middleware loaded
 * on this request, so an admin's reset of the factor, or a role given, applies at once.
 * With no roles configured this is a pass-through that costs one check.
 */
export function requireSecondFactorFor(roles: readonly string[]): MiddlewareHandler<CloakroomEnv> {
  const required = new Set(roles);
  return async (c, next) => {
    const user = c.get('user');
    if (
      required.size === 0 ||
      !user ||
      user.secondFactor ||
      !user.roles.some((role) => required.has(role)) ||
      mayUse(c.req.method, c.req.path)
    ) {
      return next();
    }
    if (isApiPath(c.req.path)) {
      return errorResponse(
        c,
        'second_factor_required',
        'Your role requires two-step sign-in: set up an authenticator app first (/account/second-factor).',
      );
    }
    return c.redirect(ENROL_PAGE, 303);
  };
}
