import { loadConfig } from '../server/boot/config.js';
import { startServer } from '../server/boot/serve.js';
import { createLogger, resolveLogFormat } from '../server/http/logger.js';

/** `cloakroom serve`: the login server, until SIGTERM or SIGINT drains it. */
export async function serveCommand(): Promise<void> {
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
