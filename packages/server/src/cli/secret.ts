import { randomBytes } from 'node:crypto';
import { CliError } from './io.js';

/** `cloakroom secret new`: a fresh 32-byte secret, base64url. Reads no configuration. */
export function secretCommand(args: string[]): void {
  if (args[0] !== 'new') throw new CliError('usage: cloakroom secret new | secret reseal [--json]');
  process.stdout.write(`${randomBytes(32).toString('base64url')}\n`);
}
