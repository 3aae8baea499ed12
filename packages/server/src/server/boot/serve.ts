import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from 'cloakroom';
import type { Logger } from 'pino';
import { createApp } from '../app.js';
import type { ServerDeps } from '../http/context.js';
import type { ServerConfig } from './config.js';
import { createDeps, type DepsOverrides } from './deps.js';
import { bootstrapAdmin } from './first-admin.js';
import { listen } from './listen.js';
import { createSetupToken, type SetupToken } from './setup-token.js';
import { storeTargets } from './stores.js';

/** A running server. */
export interface RunningServer {
  url: string;
  deps: ServerDeps;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), closes the stores. */
  close(graceMs?: number): Promise<void>;
}

/** Opens the stores, bootstraps the first admin if asked, and listens. */
export async function startServer(
  config: ServerConfig,
  logger: Logger,
  clock?: Clock,
  overrides: DepsOverrides = {},
): Promise<RunningServer> {
  const deps = await createDeps(config, logger, clock, overrides);
  let setup: SetupToken | null = null;
  try {
    if ((await bootstrapAdmin(deps)) === 'no-users') setup = createSetupToken(deps.clock);
  } catch (error) {
    await deps.close();
    throw error;
  }
  const app = createApp(deps, setup);
  let server: Server;
  try {
    server = await listen(app, config.port, config.host);
  } catch (error) {
    await deps.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info(
    {
      event: 'listening',
      url,
      stores: deps.storeDescription,
      storage: storeTargets(config),
      dataDir: config.dataDir,
    },
    `cloakroom listening on ${url}`,
  );
  if (setup) {
    // The one-time link is meant to be read from this output by whoever started the server.
    logger.warn(
      { event: 'setup.needed', setupUrl: `${url}/setup?token=${setup.token}`, validFor: '1h' },
      `no user exists yet: open ${url}/setup?token=${setup.token} within an hour to create the first admin, or run \`npx cloakroom user add NAME --role admin\``,
    );
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    deps,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), graceMs);
          force.unref();
          // A connection that goes idle after its last in-flight response closes at once,
          // instead of waiting for its keep-alive timeout.
          const sweep = setInterval(() => server.closeIdleConnections(), 50);
          sweep.unref();
          server.close(() => {
            clearTimeout(force);
            clearInterval(sweep);
            resolve();
          });
          // Keep-alive connections with no request in flight close now; busy ones finish first.
          server.closeIdleConnections();
        });
        await deps.close();
        logger.info({ event: 'stopped' }, 'cloakroom stopped');
      })();
      return closing;
    },
  };
}
