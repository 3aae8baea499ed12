import { AccountError, createAccount } from '../auth/users.js';
import { ConfigError } from '../core/errors.js';
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
    // loadConfig applies the same rules first; this only catches a rule it does not know of.
    if (error instanceof AccountError) {
      const variable = error.field === 'password' ? 'CLOAKROOM_ADMIN_PASSWORD' : 'CLOAKROOM_ADMIN_USER';
      throw new ConfigError(variable, error.message);
    }
    throw error;
  }
}
