import { isValidRole } from 'cloakroom';
import type { Context } from 'hono';
import type { App, ServerDeps } from '../http/context.js';
import { ApiError } from '../http/errors.js';
import { audit } from '../http/logger.js';
import { provesSecondFactor } from '../http/require-second-factor.js';
import { safeNext } from '../web/helpers.js';

const METHOD = /^[A-Z]{1,16}$/;

/**
 * Header values are bytes, and `Headers` refuses characters outside Latin-1: a username such
 * as `иван` is sent percent-encoded as UTF-8 (`%D0%B8…`). Printable ASCII other than `%` passes
 * unchanged, so e-mail-style names look as they are. Usernames never contain CR/LF.
 */
function headerValue(text: string): string {
  return text.replace(/[^\x21-\x24\x26-\x7e]/gu, (ch) => encodeURIComponent(ch));
}

/**
 * Where a gateway should send a signed-out browser: `/login?next=<the page>`, the page taken from
 * `X-Original-URI` (nginx) or `X-Forwarded-Uri` (Traefik, Caddy) and URL-encoded here, because a
 * gateway cannot encode it itself (nginx's `/login?next=$request_uri` loses everything after a
 * second `&`). Only a same-origin path survives `safeNext`; the sign-in page checks it again.
 */
function signInUrl(c: Context): string {
  const page = c.req.header('x-original-uri') ?? c.req.header('x-forwarded-uri');
  return page === undefined ? '/login' : `/login?next=${encodeURIComponent(safeNext(page))}`;
}

/**
 * `?mfa=1`, read like `role`: every occurrence counts, a repeat is 400, and any other value is
 * 400 too: a misspelt `mfa=true` that quietly demanded nothing would open the service to
 * password-only sessions.
 */
function demands(name: 'mfa' | 'bound', values: string[] | undefined): boolean {
  if (values === undefined) return false;
  if (values.length > 1)
    throw new ApiError('bad_request', `Send ${name} once per request; ${name} is repeated.`);
  if (values[0] !== '1') throw new ApiError('bad_request', `${name} must be 1 (or left out).`);
  return true;
}

/**
 * Forward auth for nginx `auth_request`, Traefik `ForwardAuth` and Caddy `forward_auth`:
 * 200 with identity headers when the session is valid (and has the one role asked for), 401
 * without one (with `X-Auth-Redirect`, the sign-in URL for a browser), 403 without the role.
 * Identity headers come from a fixed set and only on 200. `?mfa=1` asks for a session signed in
 * with a second factor (403 `second_factor_required` otherwise), `?bound=1` a session bound to the
 * device by DBSC (403 `device_binding_required`); `X-Auth-Methods` names how the
 * session was signed in (RFC 8176: `pwd,otp`) so a service can decide for itself.
 * If the proxy says the original request was unsafe (`X-Forwarded-Method` /
 * `X-Original-Method`), the CSRF origin gate runs on it too: the upstream service gets no
 * cross-site POST on the strength of the cookie alone.
 */
export function verifyRoutes(app: App, deps: ServerDeps): void {
  const { sessions, logger, metrics } = deps;
  app.get('/auth/verify', (c) => {
    // Every `role` is read, not only the first: if a gateway's URL ever gets a second one (a
    // rewrite that appends the client's query string, say), `?role=editor&role=admin` must not
    // let an editor through where admin was asked for. Parsers disagree on which of a repeated
    // parameter counts, so none does: one role per request, a repeat is 400.
    // One parse of the query for both parameters: this route runs for every proxied request.
    const query = c.req.queries();
    const roles = query.role;
    if (roles !== undefined && roles.length > 1)
      throw new ApiError('bad_request', 'Send one role per request; role is repeated.');
    const role = roles?.[0];
    if (role !== undefined && !isValidRole(role))
      throw new ApiError('bad_request', 'role must be a role name.');
    const mfa = demands('mfa', query.mfa);
    const bound = demands('bound', query.bound);
    // Asking for a device-bound session where none can exist would refuse everyone: say why.
    if (bound && !sessions.dbsc)
      throw new ApiError('bad_request', 'bound=1 needs device-bound sessions: set CLOAKROOM_DBSC=on.');
    const user = c.get('user');
    const session = c.get('session');
    if (!session || !user) {
      metrics.forwardAuth.inc({ result: 'unauthenticated' });
      throw new ApiError('unauthenticated', 'Sign in first.', { 'X-Auth-Redirect': signInUrl(c) });
    }
    // Both names are read, not the first one present: a proxy sets one, and the other may be the
    // client's own (nginx passes client headers on to the auth subrequest), so a client-sent
    // `X-Forwarded-Method: GET` must not vouch for a cross-site POST. Any unsafe one runs the gate.
    for (const name of ['x-forwarded-method', 'x-original-method']) {
      const forwarded = c.req.header(name);
      if (forwarded === undefined) continue;
      const method = forwarded.trim().toUpperCase();
      if (!METHOD.test(method))
        throw new ApiError('bad_request', 'X-Forwarded-Method is not an HTTP method.');
      const refusal = sessions.checkOrigin({ ...c.get('cloakroomRequest'), method });
      if (refusal) {
        metrics.forwardAuth.inc({ result: 'csrf' });
        metrics.csrfRefusals.inc({ reason: refusal });
        audit(logger, 'csrf.refused', { route: 'verify', reason: refusal, userId: user.id });
        throw new ApiError('csrf', 'Cross-site request refused.');
      }
    }
    if (role !== undefined && !user.roles.includes(role)) {
      metrics.forwardAuth.inc({ result: 'forbidden' });
      audit(logger, 'forward-auth.denied', { userId: user.id, role });
      throw new ApiError('forbidden', 'You do not have the role this needs.');
    }
    if (mfa && !provesSecondFactor(session.methods)) {
      metrics.forwardAuth.inc({ result: 'second_factor' });
      audit(logger, 'forward-auth.denied', { userId: user.id, reason: 'second-factor' });
      throw new ApiError(
        'second_factor_required',
        'This service needs a sign-in with a second factor; sign out and in again with your code.',
      );
    }
    // A bound session got here with its bound cookie (validation refuses one without it); an
    // unbound one (a browser without DBSC, or a client that never registered) does not qualify.
    if (bound && !session.bound) {
      metrics.forwardAuth.inc({ result: 'device_binding' });
      audit(logger, 'forward-auth.denied', { userId: user.id, reason: 'device-binding' });
      throw new ApiError(
        'device_binding_required',
        'This service needs a session bound to your device; sign in again with a browser that supports device-bound sessions.',
      );
    }
    metrics.forwardAuth.inc({ result: 'ok' });
    // A Response with a plain header object: the node adapter writes it without building an
    // undici Headers (this route runs once for every request to every protected service).
    // Cache-Control: no-store comes with the server's security headers.
    return new Response(null, {
      status: 200,
      headers: {
        'X-Auth-User': headerValue(user.username),
        'X-Auth-User-Id': user.id,
        'X-Auth-Roles': user.roles.join(','),
        'X-Auth-Methods': session.methods.join(','),
      },
    });
  });
}
