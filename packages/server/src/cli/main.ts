#!/usr/bin/env node
// Each command loads what it needs when it runs (`await import`), nothing before: `secret new`
// needs node:crypto alone, `user list` the configuration and the store, and only `serve` loads
// the server (Hono, pino, the pages, the password hasher). See docs/performance.md, CLI start-up.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Flags } from './commands.js';
import { CliError } from './io.js';

const HELP = `cloakroom — server-side session authentication

Usage:
  cloakroom serve                                  run the login server
  cloakroom user add NAME [--role R]... [--display-name N] [--password-stdin]
  cloakroom user passwd NAME [--password-stdin]    set a password (signs the user out everywhere)
  cloakroom user role NAME --add R | --remove R
  cloakroom user lock NAME | user unlock NAME     lock signs the user out everywhere; unlock lifts a sign-in lockout
  cloakroom user list [--json]
  cloakroom user 2fa reset NAME                    remove NAME's second factor (signs the user out everywhere)
  cloakroom user reset-link NAME [--clear-2fa] [--json]
                                                   print a one-time recovery link (valid 1 hour) to set a new
                                                   password; --clear-2fa also removes the second factor
  cloakroom sessions list [NAME] [--json]
  cloakroom sessions revoke ID | sessions revoke --user NAME
  cloakroom secret new                             print a fresh 32-byte secret
  cloakroom secret reseal [--json]                 seal every second-factor key under the newest secret
                                                   of CLOAKROOM_SECRETS (run before removing an old one)
  cloakroom migrate                                create or upgrade the database schema

Reads the same environment as the server (CLOAKROOM_DATA_DIR, CLOAKROOM_SECRETS,
CLOAKROOM_PUBLIC_URL for the links, …).
See docs/cli.md and docs/configuration.md.
`;

/**
 * A session id is base64url, so one in 64 begins with `-` and would read as a short option:
 * the argument after `sessions revoke` that is not a known option is the id, whatever it starts
 * with. (`--` before it works as well.)
 */
function withSessionIdKept(argv: string[]): { args: string[]; id: string | undefined } {
  const at = argv[0] === 'sessions' && argv[1] === 'revoke' ? 2 : -1;
  const candidate = at < 0 ? undefined : argv[at];
  if (candidate === undefined || !/^-[^-]/.test(candidate) || candidate.length <= 2) {
    return { args: argv, id: undefined };
  }
  return { args: [...argv.slice(0, at), ...argv.slice(at + 1)], id: candidate };
}

async function main(argv: string[]): Promise<void> {
  const kept = withSessionIdKept(argv);
  const parsed = parseArgs({
    args: kept.args,
    allowPositionals: true,
    strict: true,
    options: {
      role: { type: 'string', multiple: true },
      add: { type: 'string' },
      remove: { type: 'string' },
      user: { type: 'string' },
      'display-name': { type: 'string' },
      'password-stdin': { type: 'boolean' },
      'clear-2fa': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  const { values } = parsed;
  const positionals =
    kept.id === undefined
      ? parsed.positionals
      : ['sessions', 'revoke', kept.id, ...parsed.positionals.slice(2)];
  const [command, ...rest] = positionals;
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    process.stdout.write(`${pkg.version}\n`);
    return;
  }
  if (values.help || !command || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const flags: Flags = {
    roles: values.role ?? [],
    add: values.add,
    remove: values.remove,
    user: values.user,
    displayName: values['display-name'],
    passwordStdin: values['password-stdin'] ?? false,
    clear2fa: values['clear-2fa'] ?? false,
    json: values.json ?? false,
  };
  switch (command) {
    case 'serve':
      return (await import('./serve.js')).serveCommand();
    case 'user': {
      const config = await configForCommand();
      const { userCommand } = await import('./user-commands.js');
      return userCommand(config, rest, flags);
    }
    case 'sessions': {
      const config = await configForCommand();
      const { sessionsCommand } = await import('./commands.js');
      return sessionsCommand(config, rest, flags);
    }
    case 'secret': {
      if (rest[0] !== 'reseal') return (await import('./secret.js')).secretCommand(rest);
      const config = await configForCommand();
      const { resealCommand } = await import('./secret-reseal.js');
      return resealCommand(config, flags);
    }
    case 'migrate': {
      const config = await configForCommand();
      const { migrateCommand } = await import('./commands.js');
      return migrateCommand(config);
    }
    default:
      throw new CliError(`unknown command ${JSON.stringify(command)}; see cloakroom --help`);
  }
}

/** The server's configuration for a command that works on the stores: no secret required. */
async function configForCommand() {
  const { loadConfig } = await import('../server/boot/config.js');
  return loadConfig(process.env, { needSecrets: false });
}

/**
 * Whether `error` is one the library throws on purpose (a bad setting, a store that is down, a
 * refused account action): printed as it is, not as unexpected. The library is loaded only
 * here, when something failed, so a command that needs none of it never loads it.
 */
async function isLibraryError(error: unknown): Promise<boolean> {
  try {
    const { AccountError, ConfigError, StoreError } = await import('cloakroom');
    return error instanceof ConfigError || error instanceof StoreError || error instanceof AccountError;
  } catch {
    return false;
  }
}

main(process.argv.slice(2)).catch(async (error: unknown) => {
  const known = error instanceof CliError || (await isLibraryError(error));
  const text = error instanceof Error ? error.message : String(error);
  const message =
    known || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
      ? text
      : `unexpected error: ${text}`;
  process.stderr.write(`cloakroom: ${message.split('\n')[0]}\n`);
  process.exit(1);
});
