import { findCookie, serializeCookie } from './cookie.js';
import { base64urlLength, isBase64url, type SessionCrypto } from './crypto.js';
import type { ResolvedOptions } from './options.js';
import type { IncomingRequest } from './request.js';

const ID_BYTES = 32;
const ID_LENGTH = base64urlLength(ID_BYTES); // 43
const MAC_LENGTH = base64urlLength(32); // 43
/** A deadline in ms since the epoch: digits only, and never more than a safe integer has. */
const DEADLINE = /^[1-9]\d{0,15}$/;
const LABEL = 'passkey-ceremony:';
/** What a ceremony lasts unless the caller says otherwise: the default challenge lifetime. */
export const CEREMONY_MS = 5 * 60_000;
/** The longest a ceremony may last: a challenge that lives longer is one more to steal. */
export const MAX_CEREMONY_MS = 10 * 60_000;

/**
 * A ceremony that begins without a session (a passwordless passkey sign-in) needs something to
 * bind its challenge to, or a challenge fetched by one browser could be finished by another:
 * an `HttpOnly` cookie of its own (`cloakroom-passkey`, `__Host-` over HTTPS) holding a random
 * ceremony id, its deadline and a MAC under a key of its own purpose, so that neither a session
 * cookie, a pending state nor a login token can pass for it. The caller keys the challenge by
 * the id; single use is the challenge's, not the cookie's.
 */
export interface Ceremonies {
  /**
   * A new ceremony id and the cookie that carries it, living `ttlMs` (default five minutes, at
   * most ten). A ceremony cookie the request already holds is replaced.
   */
  issueCeremony(request: IncomingRequest, ttlMs?: number): { id: string; setCookie: string[] };
  /** The request's ceremony id if its MAC holds and its deadline has not passed; else `null`. */
  readCeremony(request: IncomingRequest): string | null;
  /** The Set-Cookie that removes the ceremony cookie. */
  clearCeremony(request: IncomingRequest): string[];
}

export function createCeremonies(o: ResolvedOptions): Ceremonies {
  const { keyring, crypto, clock } = o;
  return {
    issueCeremony(req, ttlMs = CEREMONY_MS) {
      if (!Number.isSafeInteger(ttlMs) || ttlMs < 1000 || ttlMs > MAX_CEREMONY_MS) {
        throw new TypeError('issueCeremony: ttlMs must be a whole number of ms from 1000 to 600000');
      }
      const id = crypto.encodeBase64url(crypto.randomBytes(ID_BYTES));
      const payload = `${id}.${clock.now() + ttlMs}`;
      const mac = crypto.encodeBase64url(keyring.sign('passkey-ceremony', LABEL + payload));
      const cookie = serializeCookie(
        o.ceremonyCookie.variant(req.https),
        `${payload}.${mac}`,
        Math.ceil(ttlMs / 1000),
      );
      return { id, setCookie: [cookie] };
    },
    readCeremony(req) {
      const found = findCookie(req.headers.get('cookie'), o.ceremonyCookie.variant(req.https).name);
      // Longer than the longest value this server writes: refused before it is split.
      if (!('value' in found) || found.value.length > ID_LENGTH + MAC_LENGTH + 18) return null;
      const parts = found.value.split('.');
      if (parts.length !== 3) return null;
      const [id, deadline, macText] = parts as [string, string, string];
      if (!isBase64url(id, ID_LENGTH) || !DEADLINE.test(deadline)) return null;
      const mac = canonicalMac(macText, crypto);
      if (!mac || keyring.verify('passkey-ceremony', `${LABEL}${id}.${deadline}`, mac) === -1) return null;
      return clock.now() < Number(deadline) ? id : null;
    },
    clearCeremony(req) {
      return [serializeCookie(o.ceremonyCookie.variant(req.https), '', 0)];
    },
  };
}

/** The 32 bytes of a MAC in its one canonical base64url spelling, or `null`. */
function canonicalMac(text: string, crypto: SessionCrypto): Uint8Array | null {
  if (!isBase64url(text, MAC_LENGTH)) return null;
  const bytes = crypto.decodeBase64url(text);
  return crypto.encodeBase64url(bytes) === text ? bytes : null;
}
