import type { IncomingRequest } from 'cloakroom';
import type { Context } from 'hono';
import { type Input, readInput } from './body.js';
import type { ServerDeps } from './context.js';
import { ApiError } from './errors.js';
import { audit } from './logger.js';

/**
 * Login CSRF for the routes that act without a session (`/api/login`, its second step,
 * `/api/recover`, the passkey sign-in steps), covered without a server-side state per visitor:
 * the origin gate refuses foreign origins, and an HTML form must also carry the login page's
 * signed double-submit token.
 * A JSON client without Origin (curl, a server) needs neither. `route` names it in the audit;
 * `read` reads the body (a begin step takes none).
 */
export async function loginCsrfInput(
  deps: ServerDeps,
  req: IncomingRequest,
  c: Context,
  route: string,
  read: (c: Context) => Promise<Input> = readInput,
): Promise<Input> {
  const { sessions, logger, metrics } = deps;
  // First gate: a request that says it comes from another origin is refused.
  const refusal = sessions.checkOrigin(req);
  if (refusal) {
    metrics.csrfRefusals.inc({ reason: refusal });
    audit(logger, 'csrf.refused', { route, reason: refusal, ip: req.ip });
    throw new ApiError('csrf', 'This request came from another site and was refused.');
  }
  const input = await read(c);
  // Second gate for HTML forms: the signed double-submit token of the sign-in pages.
  if (input.form && !sessions.checkLoginToken(req, input.fields._csrf as string | undefined)) {
    metrics.csrfRefusals.inc({ reason: 'login-token' });
    audit(logger, 'csrf.refused', { route, reason: 'login-token', ip: req.ip });
    throw new ApiError('csrf', 'The form expired; reload the page and try again.');
  }
  return input;
}
