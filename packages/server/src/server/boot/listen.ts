import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { ConfigError } from 'cloakroom';
import type { App } from '../http/context.js';
import { withSecurityHeaders } from '../http/security-headers.js';

/**
 * Listens on `PORT`/`HOST`. A refusal from the operating system becomes a {@link ConfigError}
 * naming the variable to fix, so start-up stops with one line instead of
 * `unexpected error: listen EADDRINUSE`.
 */
export function listen(app: App, port: number, host: string): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const server = serve({ fetch: withSecurityHeaders(app.fetch), port, hostname: host }, () =>
      resolve(server),
    ) as Server;
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, port, host)));
  });
}

function listenError(error: NodeJS.ErrnoException, port: number, host: string): Error {
  const where = `${host}:${port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new ConfigError(
        'PORT',
        `${where} is already in use (EADDRINUSE); stop the other process or choose another PORT`,
      );
    case 'EACCES':
      return new ConfigError(
        'PORT',
        `listening on ${where} is not permitted (EACCES); use a port of 1024 or more, or grant the right to bind low ports`,
      );
    case 'EADDRNOTAVAIL':
      return new ConfigError(
        'HOST',
        `${host} is not an address of this machine (EADDRNOTAVAIL); try 127.0.0.1 or 0.0.0.0`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new ConfigError(
        'HOST',
        `${host} does not resolve to an address (${error.code}); try 127.0.0.1 or 0.0.0.0`,
      );
    default:
      return error;
  }
}
