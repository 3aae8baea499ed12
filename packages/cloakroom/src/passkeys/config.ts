import type { CounterStore } from '../auth/types.js';
import { MAX_CEREMONY_MS } from '../core/ceremony.js';
import { type Duration, parseDuration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';

/*
 * Nothing in this file loads `@simplewebauthn/server`: `AccountDeps` names `Passkeys` from here,
 * and the main entry must not pull the WebAuthn library in for users who never use passkeys.
 */

/** Options of {@link createPasskeys}. */
export interface PasskeysOptions {
  /**
   * The origins a passkey ceremony may run on, exactly as browsers write them
   * (`https://login.example.com`, a port if not the default, no path). `https`, or `http` only
   * for `localhost`. An assertion from any other origin is refused.
   */
  origins: readonly string[];
  /**
   * The relying party ID passkeys are made for: the host of `origins[0]` by default. It must
   * equal, or be a parent domain of, the host of every origin (`example.com` for
   * `https://login.example.com`); never an IP address. Changing it later orphans every passkey.
   */
  rpId?: string;
  /** The name browsers show when a passkey is made. Default `cloakroom`. */
  rpName?: string;
  /** The counter store every instance shares: the challenges live there, single use. */
  counters: CounterStore;
  /** How long a ceremony's challenge lives. Default `5m`, at most `10m`. */
  challengeTimeout?: Duration;
}

/** The resolved relying party, for the passkey use cases (`deps.passkeys`). */
export interface Passkeys {
  readonly origins: readonly string[];
  readonly rpId: string;
  readonly rpName: string;
  readonly counters: CounterStore;
  /** The challenge lifetime in ms. */
  readonly challengeMs: number;
}

/** IPv4 dotted quads, or anything with a colon or brackets (IPv6): WebAuthn RP IDs are domains. */
const looksLikeIp = (host: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || /[:[\]]/.test(host);

/** A lower-case DNS name of letter-digit-hyphen labels (what `URL` makes of a host). */
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

function checkOrigin(value: unknown, index: number): URL {
  const option = 'origins';
  const shown = JSON.stringify(String(value).slice(0, 80));
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new ConfigError(
      option,
      `#${index + 1} ${shown} is not a URL; write it like https://login.example.com`,
    );
  }
  if (typeof value !== 'string' || url.origin !== value) {
    throw new ConfigError(
      option,
      `#${index + 1} ${shown} must be an origin exactly as browsers write it: scheme, lower-case host, port only if not the default, no path or trailing slash (${url.origin})`,
    );
  }
  if (url.protocol === 'http:' && url.hostname !== 'localhost') {
    throw new ConfigError(option, `#${index + 1} ${shown} must use https (plain http only for localhost)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(option, `#${index + 1} ${shown} must use https`);
  }
  if (looksLikeIp(url.hostname)) {
    throw new ConfigError(option, `#${index + 1} ${shown} has an IP address: passkeys need a domain name`);
  }
  return url;
}

/**
 * Resolves the relying party once (start-up) and checks it: throws `ConfigError` naming the
 * option at fault. Pass the result as `deps.passkeys` to the passkey use cases.
 * @example
 * const passkeys = createPasskeys({
 *   origins: ['https://login.example.com'],
 *   rpId: 'example.com',
 *   counters: store.counters,
 * });
 */
export function createPasskeys(options: PasskeysOptions): Passkeys {
  if (!options || !Array.isArray(options.origins) || options.origins.length === 0) {
    throw new ConfigError('origins', 'at least one origin is required, e.g. ["https://login.example.com"]');
  }
  if (options.origins.length > 16) throw new ConfigError('origins', 'at most 16 origins');
  const urls = options.origins.map(checkOrigin);
  const rpId = options.rpId ?? urls[0]!.hostname;
  if (typeof rpId !== 'string' || !DOMAIN.test(rpId) || looksLikeIp(rpId)) {
    throw new ConfigError(
      'rpId',
      'must be a lower-case domain name such as example.com (no scheme, port or IP)',
    );
  }
  // A single label other than localhost would be a top-level domain: browsers refuse those.
  if (!rpId.includes('.') && rpId !== 'localhost') {
    throw new ConfigError('rpId', `${JSON.stringify(rpId)} is a top-level domain; use your own domain`);
  }
  for (const url of urls) {
    if (url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`)) {
      throw new ConfigError(
        'rpId',
        `${JSON.stringify(rpId)} must equal or be a parent domain of the host of every origin (${url.origin} is not under it)`,
      );
    }
  }
  const rpName = options.rpName ?? 'cloakroom';
  if (typeof rpName !== 'string' || rpName.trim() === '' || rpName.length > 64 || /\p{Cc}/u.test(rpName)) {
    throw new ConfigError('rpName', 'must be 1–64 characters of text');
  }
  if (typeof options.counters?.increment !== 'function' || typeof options.counters.get !== 'function') {
    throw new ConfigError('counters', 'a counter store is required, e.g. store.counters');
  }
  const challengeMs = parseDuration(options.challengeTimeout ?? '5m', 'challengeTimeout');
  if (challengeMs < 10_000 || challengeMs > MAX_CEREMONY_MS) {
    throw new ConfigError('challengeTimeout', 'must be from 10s to 10m');
  }
  return {
    origins: urls.map((u) => u.origin),
    rpId,
    rpName,
    counters: options.counters,
    challengeMs,
  };
}
