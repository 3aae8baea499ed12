import { type IncomingRequest, isSafeMethod } from '../../core/request.js';
import type { Sessions } from '../../core/sessions.js';
import type { Refusal } from './refusal.js';

/**
 * Whether a sign-in with this `Content-Type` must carry the login token. A foreign page can
 * post an HTML form (URL-encoded, multipart), `text/plain` or a body with no type at all
 * without a CORS preflight; `application/json` it cannot (Fetch standard, "CORS-safelisted
 * request-header"), so only JSON is left to the origin gate alone. Anything unusual, such as
 * two comma-joined types, needs the token: fail closed.
 */
export function needsLoginToken(contentType: string | null | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/json';
}

/**
 * Login CSRF: a sign-in that says it comes from another origin is refused
 * (the origin gate); any body but JSON must also present the login page's signed double-submit
 * token (`issueLoginToken`), from `_csrf` of a form body or `X-CSRF-Token`. Without this, a
 * foreign page could sign the victim's browser into the attacker's account (OWASP CSRF cheat
 * sheet, "Login CSRF"). Safe methods pass.
 */
export function loginCsrfRefusal(
  sessions: Sessions,
  request: IncomingRequest,
  token: string | null,
): Extract<Refusal, { error: 'csrf' }> | null {
  if (isSafeMethod(request.method)) return null;
  const origin = sessions.checkOrigin(request);
  if (origin) return { status: 403, error: 'csrf', reason: origin };
  if (!needsLoginToken(request.headers.get('content-type'))) return null;
  if (!token) return { status: 403, error: 'csrf', reason: 'missing-token' };
  return sessions.checkLoginToken(request, token)
    ? null
    : { status: 403, error: 'csrf', reason: 'bad-token' };
}
