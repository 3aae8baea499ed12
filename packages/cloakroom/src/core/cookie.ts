import { ConfigError } from './errors.js';

/** `SameSite` values cloakroom allows. `None` is refused: it would invite cross-site requests. */
export type SameSite = 'lax' | 'strict';

/** Cookie settings, resolved once by {@link createCookiePolicy}. */
export interface CookieOptions {
  /** Base name; `__Host-` is prepended whenever the cookie is Secure. Default `cloakroom`. */
  name?: string;
  /**
   * `true`: always Secure with the `__Host-` prefix (HTTPS deployments). `false`: plain
   * `http://localhost` development. `'auto'` (default): Secure exactly when the request came
   * over HTTPS.
   */
  secure?: boolean | 'auto';
  /** Default `lax`. */
  sameSite?: SameSite;
}

/** Attributes of one cookie variant (secure or not). */
export interface CookieVariant {
  readonly name: string;
  /** `; Path=/; HttpOnly; SameSite=Lax[; Secure]` */
  readonly attributes: string;
}

export interface CookiePolicy {
  /** The variant for a request that did or did not arrive over HTTPS. */
  variant(https: boolean): CookieVariant;
}

// RFC 6265bis §4.1.1: cookie-name is an RFC 9110 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** RFC 6265bis §5.7: browsers refuse a cookie whose name plus value exceeds 4096 octets. */
export const MAX_COOKIE_BYTES = 4096;

/**
 * Longest base cookie name. With `__Host-`, a `-login` suffix, the 86-character signed token
 * and the attributes, a Set-Cookie line stays far below {@link MAX_COOKIE_BYTES}: a longer
 * name would only make every cookie heavier, and near 4096 it makes serialising throw on
 * every request that has to clear a bad cookie.
 */
export const MAX_COOKIE_NAME_LENGTH = 64;

/**
 * Validates the options and prepares both variants. `__Host-` (RFC 6265bis §4.1.3.2) needs
 * Secure, `Path=/` and no Domain: we always set `Path=/` and never a Domain, so the prefix is
 * applied whenever the cookie is Secure. `maxNameLength` is for cloakroom's own derived names
 * (the login cookie adds `-login` to a name already checked).
 */
export function createCookiePolicy(
  options: CookieOptions = {},
  option = 'cookie',
  maxNameLength = MAX_COOKIE_NAME_LENGTH,
): CookiePolicy {
  const base = options.name ?? 'cloakroom';
  if (!TOKEN.test(base) || /^__(host|secure)-/i.test(base)) {
    throw new ConfigError(
      `${option}.name`,
      'must be a plain cookie token (letters, digits, -_.); the __Host- prefix is added for you',
    );
  }
  if (base.length > maxNameLength) {
    throw new ConfigError(
      `${option}.name`,
      `must be at most ${maxNameLength} characters, got ${base.length}; pick a short name`,
    );
  }
  const sameSite = options.sameSite ?? 'lax';
  if (sameSite !== 'lax' && sameSite !== 'strict') {
    throw new ConfigError(
      `${option}.sameSite`,
      `must be "lax" or "strict" (never "none"), got ${JSON.stringify(sameSite)}`,
    );
  }
  const secure = options.secure ?? 'auto';
  if (secure !== true && secure !== false && secure !== 'auto') {
    throw new ConfigError(`${option}.secure`, 'must be true, false or "auto"');
  }
  const same = sameSite === 'lax' ? 'Lax' : 'Strict';
  const plain: CookieVariant = { name: base, attributes: `; Path=/; HttpOnly; SameSite=${same}` };
  const hardened: CookieVariant = {
    name: `__Host-${base}`,
    attributes: `; Path=/; HttpOnly; SameSite=${same}; Secure`,
  };
  return {
    variant: (https) => ((secure === 'auto' ? https : secure) ? hardened : plain),
  };
}

/**
 * A `Set-Cookie` value. `maxAgeSeconds` undefined gives a browser-session cookie; 0 clears it
 * (with `Expires` in the past for old user agents). The value must already be cookie-safe.
 */
export function serializeCookie(variant: CookieVariant, value: string, maxAgeSeconds?: number): string {
  if (variant.name.length + value.length > MAX_COOKIE_BYTES) {
    throw new RangeError(`cookie ${variant.name} would exceed ${MAX_COOKIE_BYTES} bytes`);
  }
  if (maxAgeSeconds === undefined) return `${variant.name}=${value}${variant.attributes}`;
  if (maxAgeSeconds <= 0) {
    return `${variant.name}=${variant.attributes}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
  }
  return `${variant.name}=${value}${variant.attributes}; Max-Age=${Math.floor(maxAgeSeconds)}`;
}

/** What a Cookie header holds under one name. */
export type CookieLookup = { value: string } | { missing: true } | { duplicate: true };

/**
 * Finds the cookie named exactly `name` (case-sensitive: `__HOST-x` is not `__Host-x`).
 * Two cookies of that name are reported as a duplicate instead of picking one, because
 * servers must not rely on serialisation order (RFC 6265bis §5.7) and a tossed cookie would
 * otherwise win. Written here rather than taken from a cookie library because we need exactly
 * this duplicate rule and nothing else, on the per-request path.
 */
export function findCookie(header: string | null | undefined, name: string): CookieLookup {
  if (!header) return { missing: true };
  let found: string | undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) {
      if (found !== undefined) return { duplicate: true };
      found = header.slice(eq + 1, end).trim();
    }
    start = end + 1;
  }
  return found === undefined ? { missing: true } : { value: found };
}
