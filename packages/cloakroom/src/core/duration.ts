import { ConfigError } from './errors.js';

/**
 * A duration as configured: `'90s'`, `'30m'`, `'12h'`, `'30d'`, a plain number of seconds
 * as a string (`'3600'`), or a number of seconds — the same rules as the environment variables.
 */
export type Duration = string | number;

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Longest duration accepted: 400 days. Browsers cap a cookie's `Max-Age`/`Expires` there
 * (RFC 6265bis §5.5, §5.6.2), so no session can usefully outlive it — and an unbounded value
 * pushes deadlines past what a `Date` can represent (`toISOString` throws on them).
 */
export const MAX_DURATION_MS = 400 * UNIT_MS.d!;

/** Parses a {@link Duration} into milliseconds; throws {@link ConfigError} naming `option`. */
export function parseDuration(value: Duration, option: string): number {
  const ms = toMs(value, option);
  if (ms > MAX_DURATION_MS) {
    throw new ConfigError(
      option,
      `must be at most 400d (browsers cap cookie lifetimes at 400 days), got ${String(value).trim().slice(0, 40)}`,
    );
  }
  return ms;
}

function toMs(value: Duration, option: string): number {
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
