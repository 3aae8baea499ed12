import { ConfigError } from './errors.js';

/**
 * A duration as configured: `'90s'`, `'30m'`, `'12h'`, `'30d'`, a plain number of seconds
 * as a string (`'3600'`), or a number of seconds — the same rules as the environment variables.
 */
export type Duration = string | number;

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a {@link Duration} into milliseconds; throws {@link ConfigError} naming `option`. */
export function parseDuration(value: Duration, option: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value > 0) return Math.round(value * 1000);
    throw new ConfigError(option, `must be a positive number of seconds, got ${value}`);
  }
  const match = /^\s*(\d+)\s*([smhd]?)\s*$/.exec(value);
  const amount = match ? Number(match[1]) : Number.NaN;
  if (!match || !(amount > 0)) {
    throw new ConfigError(option, `must be a positive duration such as 90s, 30m, 12h, 30d or plain seconds`);
  }
  return amount * UNIT_MS[match[2] || 's']!;
}
