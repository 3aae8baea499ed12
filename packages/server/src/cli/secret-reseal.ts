import { resealSecondFactors } from 'cloakroom';
import type { ServerConfig } from '../server/boot/config.js';
import { cliAccounts, done } from './accounts.js';
import type { Flags } from './commands.js';
import { CliError } from './io.js';
import { withStore } from './store.js';

const say = (line: string) => {
  process.stdout.write(`${line}\n`);
};

/**
 * `cloakroom secret reseal [--json]`: every second-factor key sealed again under the newest secret
 * of CLOAKROOM_SECRETS, so the older ones can be removed (docs/operations.md, Secret rotation).
 * It needs the server's own keyring: a throwaway secret would open nothing, and every key would
 * look lost. A key no configured secret opens is named with what to do, and the command exits 1:
 * removing a secret then would leave that user unable to sign in.
 */
export async function resealCommand(config: ServerConfig, flags: Flags): Promise<void> {
  if (config.secrets.length === 0) {
    throw new CliError(
      'secret reseal needs the secrets the server uses: set CLOAKROOM_SECRETS (or CLOAKROOM_SECRETS_FILE), newest first',
    );
  }
  await withStore(config, async (store) => {
    const account = await cliAccounts(config, store);
    const report = done(await resealSecondFactors(account), 'stopped resealing');
    const unreadable = [];
    for (const id of report.unreadable) {
      unreadable.push({ id, username: (await store.users.getById(id))?.username ?? id });
    }
    if (flags.json) {
      const { resealed, current } = report;
      process.stdout.write(`${JSON.stringify({ resealed, current, unreadable }, null, 2)}\n`);
    } else {
      say(
        `resealed ${report.resealed} second factor(s) under the newest secret; ${report.current} already were`,
      );
      for (const { username } of unreadable) {
        say(
          `${username}: no configured secret opens their second-factor key; put its secret back and run this again, or run \`cloakroom user 2fa reset ${username}\` (they enrol again)`,
        );
      }
    }
    if (unreadable.length > 0) {
      throw new CliError(
        `${unreadable.length} second factor(s) cannot be opened; do not remove a secret until they are dealt with`,
      );
    }
  });
}
