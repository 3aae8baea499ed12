#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AccountError, ConfigError, StoreError } from 'cloakroom';
import { loadConfig } from '../server/boot/config.js';
import { startServer } from '../server/boot/serve.js';
import { createLogger, resolveLogFormat } from '../server/http/logger.js';
import { type Flags, migrateCommand, secretCommand, sessionsCommand } from './commands.js';
import { CliError } from './io.js';
import { userCommand } from './user-commands.js';

const HELP = `cloakroom — server-side session authentication

Usage:
  cloakroom serve                                  run the login server
  cloakroom user add NAME [--role R]... [--display-name N] [--password-stdin]
  cloakroom user passwd NAME [--password-stdin]    set a password (signs the user out everywhere)
  cloakroom user role NAME --add R | --remove R
  cloakroom user lock NAME | user unlock NAME     lock signs the user out everywhere; unlock lifts a sign-in lockout
  cloakroom user list [--json]
  cloakroom sessions list [NAME] [--json]
  cloakroom sessions revoke ID | sessions revoke --user NAME
  cloakroom secret new                             print a fresh 32-byte secret
  cloakroom migrate                                create or upgrade the database schema

Reads the same environment as the server (CLOAKROOM_DATA_DIR, CLOAKROOM_SECRETS, …).
See docs/cli.md and docs/configuration.md.
`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      role: { type: 'string', multiple: true },
      add: { type: 'string' },
      remove: { type: 'string' },
      user: { type: 'string' },
      'display-name': { type: 'string' },
      'password-stdin': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
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
    json: values.json ?? false,
  };
  switch (command) {
    case 'serve':
      return serveCommand();
    case 'user':
      return userCommand(loadConfig(process.env, { needSecrets: false }), rest, flags);
    case 'sessions':
      return sessionsCommand(loadConfig(process.env, { needSecrets: false }), rest, flags);
    case 'secret':
      return secretCommand(rest);
    case 'migrate':
      return migrateCommand(loadConfig(process.env, { needSecrets: false }));
    default:
      throw new CliError(`unknown command ${JSON.stringify(command)}; see cloakroom --help`);
  }
}

async function serveCommand(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(
    config.logLevel,
    undefined,
    resolveLogFormat(config.logFormat, process.stdout.isTTY === true),
  );
  if (config.secretsSource === 'generated') {
    logger.warn(
      { event: 'secret.generated', dataDir: config.dataDir },
      `no CLOAKROOM_SECRETS set: generated a development secret into ${config.dataDir}/secret (production requires CLOAKROOM_SECRETS)`,
    );
  }
  const server = await startServer(config, logger);
  const stop = (signal: string) => {
    logger.info({ event: 'shutdown', signal }, `received ${signal}, draining`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const known =
    error instanceof ConfigError ||
    error instanceof CliError ||
    error instanceof StoreError ||
    error instanceof AccountError;
  const text = error instanceof Error ? error.message : String(error);
  const message =
    known || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
      ? text
      : `unexpected error: ${text}`;
  process.stderr.write(`cloakroom: ${message.split('\n')[0]}\n`);
  process.exit(1);
});
