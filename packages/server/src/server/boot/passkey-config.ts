import { isIPv4 } from 'node:net';
import { ConfigError } from 'cloakroom';
import type { Env } from './secrets.js';

/** The WebAuthn relying party: the origins assertions must come from, and the RP ID they are scoped to. */
export interface PasskeySettings {
  origins: string[];
  rpId: string;
}

export interface PasskeyConfig {
  /** `null`: passkeys are off (the routes answer 404, the pages show no passkey UI). */
  passkeys: PasskeySettings | null;
  /** Under `CLOAKROOM_PASSKEYS=auto`, why they are off: the one warning line at start-up. */
  passkeysWarning: string | null;
}

const MODES = { auto: 'auto', on: 'on', off: 'off' } as const;
const ACCEPTS =
  'the https origin users sign in at, such as https://login.example.com (http:// only for localhost)';

/**
 * `CLOAKROOM_PASSKEYS` (`auto` | `on` | `off`) and `CLOAKROOM_PASSKEY_RP_ID`. The relying party
 * is the public origin (`CLOAKROOM_PUBLIC_URL`); without one outside production it is
 * `http://localhost:PORT`. A browser only runs a ceremony on a secure context for an RP ID that
 * is a host name (never an IP address) equal to or a parent of the page's host, so anything else
 * is refused here rather than failing in every browser later. `auto` turns passkeys off, with a
 * warning, when there is no such relying party; `on` stops start-up instead.
 */
export function loadPasskeyConfig(
  env: Env,
  server: { port: number; production: boolean; publicUrl: string | null },
): PasskeyConfig {
  const mode = passkeyMode(env);
  if (mode === 'off') return { passkeys: null, passkeysWarning: null };
  const rpIdSetting = rpIdOf(env.CLOAKROOM_PASSKEY_RP_ID);
  const origin = originOf(server);
  if ('problem' in origin) {
    if (mode === 'on') {
      throw new ConfigError(
        'CLOAKROOM_PUBLIC_URL',
        `${origin.problem}; passkeys (CLOAKROOM_PASSKEYS=on) need ${ACCEPTS}`,
      );
    }
    return {
      passkeys: null,
      passkeysWarning: `passkeys are off: CLOAKROOM_PUBLIC_URL ${origin.problem}; set it to ${ACCEPTS}, or set CLOAKROOM_PASSKEYS=off`,
    };
  }
  const { host } = origin;
  const rpId = rpIdSetting ?? host;
  if (rpIdSetting !== null && host !== rpIdSetting && !host.endsWith(`.${rpIdSetting}`)) {
    throw new ConfigError(
      'CLOAKROOM_PASSKEY_RP_ID',
      `must be the host of CLOAKROOM_PUBLIC_URL (${host}) or a parent domain of it, such as ${parentExample(host)}; got ${JSON.stringify(env.CLOAKROOM_PASSKEY_RP_ID)}`,
    );
  }
  if (rpId !== host && !rpId.includes('.')) {
    throw new ConfigError(
      'CLOAKROOM_PASSKEY_RP_ID',
      `must not be a top-level domain (browsers refuse it), such as ${parentExample(host)}; got ${JSON.stringify(env.CLOAKROOM_PASSKEY_RP_ID)}`,
    );
  }
  return { passkeys: { origins: [origin.origin], rpId }, passkeysWarning: null };
}

function passkeyMode(env: Env): keyof typeof MODES {
  const raw = env.CLOAKROOM_PASSKEYS;
  if (raw === undefined || raw.trim() === '') return 'auto';
  const key = raw.trim().toLowerCase();
  if (!Object.hasOwn(MODES, key))
    throw new ConfigError('CLOAKROOM_PASSKEYS', `must be one of auto, on, off; got ${JSON.stringify(raw)}`);
  return key as keyof typeof MODES;
}

/** Letters, digits and hyphens, 1–63 per label, dot-separated, at most 253 in all (RFC 1123). */
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function rpIdOf(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === '') return null;
  const value = raw.trim().toLowerCase();
  if (isIPv4(value) || value.length > 253 || !value.split('.').every((label) => LABEL.test(label))) {
    throw new ConfigError(
      'CLOAKROOM_PASSKEY_RP_ID',
      `must be a domain name without scheme or port, such as example.com (never an IP address); got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

type Origin = { origin: string; host: string } | { problem: string };

function originOf(server: { port: number; production: boolean; publicUrl: string | null }): Origin {
  if (server.publicUrl === null) {
    if (server.production) return { problem: 'is not set (NODE_ENV=production)' };
    // With PORT=0 the port is only known once listening, after every route is built.
    if (server.port === 0) return { problem: 'is not set and PORT=0 (the port is not known in advance)' };
    return { origin: `http://localhost:${server.port}`, host: 'localhost' };
  }
  const url = new URL(server.publicUrl);
  const host = url.hostname;
  if (host.startsWith('[') || isIPv4(host))
    return { problem: `names an IP address (${server.publicUrl}), which cannot be a relying party ID` };
  if (url.protocol !== 'https:' && host !== 'localhost')
    return { problem: `is http:// on a host other than localhost (${server.publicUrl})` };
  return { origin: server.publicUrl, host };
}

/** `login.example.com` → `example.com`: the parent an error message suggests. */
function parentExample(host: string): string {
  const labels = host.split('.');
  return labels.length > 2 ? labels.slice(1).join('.') : host;
}
