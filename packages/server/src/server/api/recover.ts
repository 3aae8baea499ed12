import { useRecoveryLink } from 'cloakroom';
import type { App, ServerDeps } from '../http/context.js';
import { accepted } from '../http/errors.js';
import { loginCsrfInput } from '../http/login-csrf.js';

/**
 * `POST /api/recover {token, newPassword}`: a recovery link's single use. No session is needed or
 * read (the link is the proof), so it sits with sign-in, behind login CSRF, before the session
 * CSRF guard. A used, expired, replaced or voided link is 404 `not_found`, whichever it was.
 * Nobody is signed in afterwards: every session of the user has ended, and they sign in with the
 * new password (and their code, unless the link removed the second factor).
 */
export function recoverRoutes(app: App, deps: ServerDeps): void {
  app.post('/api/recover', async (c) => {
    const input = await loginCsrfInput(deps, c.get('cloakroomRequest'), c, 'recover');
    accepted(await useRecoveryLink(deps.account, input.fields.token, input.fields.newPassword));
    return c.body(null, 204);
  });
}
