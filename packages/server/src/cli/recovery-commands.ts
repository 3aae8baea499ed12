import { type AccountDeps, issueRecoveryLink, resetSecondFactor, type UserRecord } from 'cloakroom';
import type { ServerConfig } from '../server/boot/config.js';
import { recoveryPath, recoveryUrl } from '../server/http/recovery-url.js';
import { BY, done } from './accounts.js';
import type { Flags } from './commands.js';

const say = (line: string) => {
  process.stdout.write(`${line}\n`);
};

/** `cloakroom user 2fa reset NAME`: the factor and its recovery codes go, every session ends. */
export async function resetTwoFactor(account: AccountDeps, user: UserRecord): Promise<void> {
  const { changed, revokedSessions } = done(
    await resetSecondFactor(account, user.id, BY),
    `refusing to reset the second factor of ${user.username}`,
  );
  const what = changed
    ? `removed the second factor of ${user.username}`
    : `${user.username} had no second factor`;
  say(`${what}; ${revokedSessions} session(s) signed out`);
}

/**
 * `cloakroom user reset-link NAME [--clear-2fa] [--json]`: a one-time link to set a new password.
 * The link is the command's result, so it goes to stdout (and nowhere else: the audit line on
 * stderr names the user, never the token). An earlier link of the user stops working.
 */
export async function printRecoveryLink(
  config: ServerConfig,
  account: AccountDeps,
  user: UserRecord,
  flags: Flags,
): Promise<void> {
  const { token, expiresAt } = done(
    await issueRecoveryLink(account, user.id, { clearSecondFactor: flags.clear2fa }, BY),
    `refusing to issue a recovery link for ${user.username}`,
  );
  const path = recoveryPath(token);
  const url = recoveryUrl(config.publicUrl, token);
  const until = new Date(expiresAt).toISOString();
  if (flags.json) {
    const result = {
      username: user.username,
      url,
      path,
      expiresAt: until,
      clearSecondFactor: flags.clear2fa,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  say(`recovery link for ${user.username}: works once, valid 1 hour (until ${until})`);
  say(url ?? path);
  if (url === null) {
    say("put the server's address in front of this path (set CLOAKROOM_PUBLIC_URL to print the whole link)");
  }
  say(
    flags.clear2fa
      ? 'using it sets a new password, removes the second factor and signs the user out everywhere'
      : 'using it sets a new password and signs the user out everywhere; the second factor stays',
  );
}
