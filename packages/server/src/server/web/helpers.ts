import Bowser from 'bowser';

/** "Chrome on Linux" from a User-Agent header, via bowser (a well-kept parser). */
export function describeDevice(userAgent: string | null): string {
  if (!userAgent) return 'Unknown device';
  try {
    const parsed = Bowser.parse(userAgent);
    const browser = parsed.browser.name;
    const os = parsed.os.name;
    if (browser && os) return `${browser} on ${os}`;
    return browser || os || 'Unknown device';
  } catch {
    return 'Unknown device';
  }
}

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "just now", "5 minutes ago", "yesterday". */
export function relativeTime(at: number, now: number): string {
  const diff = at - now;
  if (Math.abs(diff) < 60_000) return 'just now';
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms) return relative.format(Math.round(diff / ms), unit);
  }
  return 'just now';
}

const absolute = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

/** "Nov 24, 2026, 9:14 AM UTC" for title attributes and the "signed in" column. */
export function formatDate(at: number): string {
  return `${absolute.format(new Date(at))} UTC`;
}

const day = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeZone: 'UTC' });

/** "Nov 24, 2026" (UTC) where the day is enough, such as when a user was created. */
export function formatDay(at: number): string {
  return day.format(new Date(at));
}

const BASE = 'http://cloakroom.invalid';

/**
 * A path a browser resolves on our own origin: one leading `/` (`//host` is scheme-relative),
 * no `\\` (browsers read it as `/` in http(s) URLs, so `/\\host` is `//host`), no control
 * characters (the URL parser drops tabs and newlines, which can hide a `//`).
 */
function isLocalPath(path: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are refused outright
  return path.startsWith('/') && !path.startsWith('//') && !/[\\\u0000-\u001f\u007f]/.test(path);
}

/**
 * Where to go after sign-in: only a same-origin path. `//evil`, `/\\evil`, absolute URLs,
 * control characters and anything that resolves to another origin fall back to `/account`
 * (no open redirect). The normalised form is checked again, because dot
 * segments can turn a harmless-looking path into a scheme-relative one: `/.//evil.com` and
 * `/%2e%2e//evil.com` both normalise to `//evil.com`.
 */
export function safeNext(raw: unknown): string {
  const fallback = '/account';
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 512 || !isLocalPath(raw)) return fallback;
  try {
    const url = new URL(raw, BASE);
    if (url.origin !== BASE || /%2f|%5c/i.test(url.pathname)) return fallback;
    if (url.pathname === '/login' || url.pathname === '/logout') return fallback;
    const next = `${url.pathname}${url.search}`;
    // What we send is what the browser resolves: it must still be a local path, and stay here.
    if (!isLocalPath(next) || new URL(next, BASE).origin !== BASE) return fallback;
    return next;
  } catch {
    return fallback;
  }
}

/** A text field of a submitted form, or `''` when it is missing or not text. */
export function formText(fields: Record<string, unknown>, name: string): string {
  const value = fields[name];
  return typeof value === 'string' ? value : '';
}
