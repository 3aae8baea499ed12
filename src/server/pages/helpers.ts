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

/**
 * Where to go after sign-in: only a same-origin path. `//evil`, `/\\evil`, absolute URLs,
 * control characters and anything that resolves to another origin fall back to `/account`
 * (no open redirect; checklist 60).
 */
export function safeNext(raw: unknown): string {
  const fallback = '/account';
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 512) return fallback;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are refused outright
  if (!raw.startsWith('/') || raw.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(raw)) return fallback;
  try {
    const base = 'http://cloakroom.invalid';
    const url = new URL(raw, base);
    if (url.origin !== base || /%2f|%5c/i.test(url.pathname)) return fallback;
    if (url.pathname === '/login' || url.pathname === '/logout') return fallback;
    return `${url.pathname}${url.search}`;
  } catch {
    return fallback;
  }
}
