import { bootstrapAdmin as bootstrap, ConfigError } from 'cloakroom';
import type { ServerDeps } from '../http/context.js';

/**
 * Creates the first admin from `CLOAKROOM_ADMIN_USER` / `CLOAKROOM_ADMIN_PASSWORD` when no user
 * exists yet. Two instances starting at once race on the unique username: exactly one wins,
 * the other carries on.
 */
export async function bootstrapAdmin(deps: ServerDeps): Promise<'created' | 'skipped' | 'no-users'> {
  const { config, users } = deps;
  if ((await users.count()) > 0) return 'skipped';
  if (!config.admin) return 'no-users';
  const result = await bootstrap(deps.account, config.admin, 'environment');
  if (result.ok) return 'created';
  if (result.error === 'closed') return 'skipped';
  // loadConfig applies the same rules first; this only catches a rule it does not know of.
  const variable =
    result.error === 'invalid' && result.field === 'password'
      ? 'CLOAKROOM_ADMIN_PASSWORD'
      : 'CLOAKROOM_ADMIN_USER';
  throw new ConfigError(variable, result.message);
}
