import { AccountError, createAccount } from '../auth/users.js';
import type { ServerDeps } from './context.js';
import { audit } from './logger.js';

/**
 * Creates the first admin from `CLOAKROOM_ADMIN_USER` / `CLOAKROOM_ADMIN_PASSWORD` when no user
 * exists yet. Two instances starting at once race on the unique username: exactly one wins,
 * the other sees `taken` and carries on.
 */
export async function bootstrapAdmin(deps: ServerDeps): Promise<'created' | 'skipped' | 'no-users'> {
  const { config, users, passwords, logger, clock } = deps;
  if ((await users.count()) > 0) return 'skipped';
  if (!config.admin) return 'no-users';
  try {
    const user = await createAccount(users, passwords, { ...config.admin, roles: ['admin'] }, clock.now());
    audit(logger, 'admin.bootstrapped', { userId: user.id, username: user.username });
    return 'created';
  } catch (error) {
    if (error instanceof AccountError && error.code === 'taken') return 'skipped';
    if (error instanceof AccountError)
      throw new AccountError(error.field, `CLOAKROOM_ADMIN_*: ${error.message}`);
    throw error;
  }
}
