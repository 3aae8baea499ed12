import type { CloakroomEnv } from 'cloakroom/hono';
import type { Context } from 'hono';
import { readInput } from '../http/body.js';
import type { ServerDeps } from '../http/context.js';
import { audit } from '../http/logger.js';
import { MessagePage } from './layout.js';

/** What the login-CSRF checks of a page form found. */
export type FormCheck =
  /** Another origin sent it: answer `response` (a 403 page); nothing was read. */
  | { verdict: 'foreign'; response: Response }
  /** The form's login token is missing or not this browser's: show the form again (403). */
  | { verdict: 'expired'; fields: Record<string, unknown> }
  | { verdict: 'ok'; fields: Record<string, unknown> };

/**
 * The login CSRF of the pages that act without a session (sign-in, its second step, a recovery
 * link): the origin gate first, then the signed login token of the form (`_csrf`). Each refusal
 * is counted and audited under `route`; the page decides how to show an expired form.
 */
export async function checkLoginForm(
  deps: ServerDeps,
  c: Context<CloakroomEnv>,
  route: string,
  foreignText: string,
): Promise<FormCheck> {
  const { sessions, logger, metrics } = deps;
  const req = c.get('cloakroomRequest');
  const refusal = sessions.checkOrigin(req);
  if (refusal) {
    metrics.csrfRefusals.inc({ reason: refusal });
    audit(logger, 'csrf.refused', { route, reason: refusal, ip: req.ip });
    const response = c.html(<MessagePage status={403} title="Request refused" text={foreignText} />, 403);
    return { verdict: 'foreign', response: await response };
  }
  const { fields } = await readInput(c);
  if (!sessions.checkLoginToken(req, fields._csrf as string | undefined)) {
    metrics.csrfRefusals.inc({ reason: 'login-token' });
    audit(logger, 'csrf.refused', { route, reason: 'login-token', ip: req.ip });
    return { verdict: 'expired', fields };
  }
  return { verdict: 'ok', fields };
}
