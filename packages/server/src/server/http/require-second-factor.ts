import type { User } from 'cloakroom';
import type { CloakroomEnv } from 'cloakroom/hono';
import type { MiddlewareHandler } from 'hono';
import { isApiPath } from '../web/refusals.js';
import { errorResponse } from './errors.js';

/** Where a user who must enrol is sent, and the page that enrols. */
export const ENROL_PAGE = '/account/second-factor';
/** The page that registers passkeys: it enrols as well. */
const PASSKEYS_PAGE = '/account/passkeys';

/** RFC 8176 method names that prove a second factor: a one-time password, a hardware key. */
const SECOND_FACTORS: ReadonlySet<string> = new Set(['otp', 'hwk']);

/** Whether `user` has a role of `roles` (`CLOAKROOM_REQUIRE_2FA_ROLES`) and no second factor yet. */
export function mustEnrol(roles: readonly string[], user: Pick<User, 'roles' | 'secondFactor'>): boolean {
  return !user.secondFactor && user.roles.some((role) => roles.includes(role));
}

/** Whether a session's sign-in (or its latest re-authentication) proved a second factor. */
export function provesSecondFactor(methods: readonly string[]): boolean {
  return methods.some((method) => SECOND_FACTORS.has(method));
}

/**
 * Paths a user who must enrol may still use: what enrols (the second-factor and passkey pages and
 * their forms, the API behind them), what re-authenticates (`/reauth`, with a password or a
 * passkey), what signs out, what shows who is signed in (`GET /api/session`, so a single-page app
 * can tell why it is refused), the stylesheet, and the sign-in and recovery steps, which act on
 * no session (they replace it).
 */
function mayUse(method: string, path: string): boolean {
  if (path === ENROL_PAGE || path.startsWith(`${ENROL_PAGE}/`)) return true;
  if (path === '/api/account/second-factor' || path.startsWith('/api/account/second-factor/')) return true;
  // A passkey is a second factor too: registering one enrols, and it re-authenticates.
  if (path === PASSKEYS_PAGE || path.startsWith(`${PASSKEYS_PAGE}/`)) return true;
  if (path === '/api/account/passkeys' || path.startsWith('/api/account/passkeys/')) return true;
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
    case '/api/login/passkey':
    case '/api/login/passkey/options':
    case '/api/login/second-factor/passkey':
    case '/api/login/second-factor/passkey/options':
    case '/api/reauth/passkey':
    case '/api/reauth/passkey/options':
    case '/recover':
    case '/api/recover':
      return true;
    default:
      return path.startsWith('/assets/');
  }
}

/**
 * `CLOAKROOM_REQUIRE_2FA_ROLES`: a signed-in user with one of `roles` may use nothing but
 * enrolment, re-authentication and sign-out until their session has proved a second factor:
 * - no second factor enrolled: the API (and `/auth/verify`, so a protected service refuses them
 *   too) answers `403 second_factor_required`; a page sends the browser to the enrolment page;
 * - enrolled, but this session was signed in with the password alone (on another device before
 *   they enrolled, say): the same 403 from the API; a page sends the browser to `/reauth`, where
 *   the password and a code bring the session up to two factors.
 * The user is the one the auth middleware loaded on this request, so an admin's reset of the
 * factor, or a role given, applies at once. With no roles configured this is a pass-through that
 * costs one check.
 */
export function requireSecondFactorFor(roles: readonly string[]): MiddlewareHandler<CloakroomEnv> {
  const required = new Set(roles);
  return async (c, next) => {
    const user = c.get('user');
    const session = c.get('session');
    if (
      required.size === 0 ||
      !user ||
      !session ||
      (user.secondFactor && provesSecondFactor(session.methods)) ||
      !user.roles.some((role) => required.has(role)) ||
      mayUse(c.req.method, c.req.path)
    ) {
      return next();
    }
    if (isApiPath(c.req.path)) {
      return errorResponse(
        c,
        'second_factor_required',
        user.secondFactor
          ? 'Your role requires two-step sign-in: confirm this session with your password and a code (/api/reauth).'
          : 'Your role requires two-step sign-in: set up an authenticator app first (/account/second-factor).',
      );
    }
    if (!user.secondFactor) return c.redirect(ENROL_PAGE, 303);
    const url = new URL(c.req.url);
    const back = c.req.method === 'GET' ? `${url.pathname}${url.search}` : '/account';
    return c.redirect(`/reauth?next=${encodeURIComponent(back)}`, 303);
  };
}
