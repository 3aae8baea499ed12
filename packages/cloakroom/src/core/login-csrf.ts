import { findCookie, serializeCookie } from './cookie.js';
import { base64urlLength, isBase64url, type SessionCrypto } from './crypto.js';
import type { Keyring } from './keyring.js';
import type { ResolvedOptions } from './options.js';
import type { IncomingRequest } from './request.js';

const NONCE_BYTES = 32;
const NONCE_LENGTH = base64urlLength(NONCE_BYTES); // 43
const MAC_LENGTH = base64urlLength(32); // 43
/** Two hours to fill in a login form. */
const LOGIN_COOKIE_SECONDS = 2 * 60 * 60;

/**
 * The cookie's MAC and the form token are both made with the login key, over a label and the
 * 43-character nonce. Distinct labels of which neither is a prefix of the other keep the two
 * messages apart, so the cookie's MAC never serves as a form token or the other way round.
 */
const COOKIE_LABEL = 'login-nonce:';
const TOKEN_LABEL = 'login-token:';

/**
 * Login CSRF without a server-side session per anonymous visitor (OWASP "signed double-submit
 * cookie"): the login page sets an HttpOnly cookie `nonce.MAC(login key, nonce)` holding a
 * random nonce that only the server can mint, and puts MAC(login key, nonce) — under another
 * label — in the form. A forged form cannot know the token; a tossed cookie is refused unless
 * the server minted it, and a nonce the client chose is never signed: it is replaced. The
 * origin gate runs before this.
 */
export interface LoginCsrf {
  /**
   * A token for the login form, and the nonce cookie to set unless the browser already sent
   * one this server minted (any other value is replaced, never signed).
   */
  issueLoginToken(request: IncomingRequest): { token: string; setCookie: string[] };
  /**
   * Whether the request carries a nonce cookie this server minted and `token` is its MAC.
   * Malformed input is `false`.
   */
  checkLoginToken(request: IncomingRequest, token: string | null | undefined): boolean;
}

export function createLoginCsrf(o: ResolvedOptions): LoginCsrf {
  const { keyring, crypto } = o;
  const nonceOf = (req: IncomingRequest): string | null => {
    const found = findCookie(req.headers.get('cookie'), o.loginCookie.variant(req.https).name);
    return 'value' in found ? mintedNonce(found.value, keyring, crypto) : null;
  };
  return {
    issueLoginToken(req) {
      let nonce = nonceOf(req);
      const setCookie: string[] = [];
      if (!nonce) {
        nonce = crypto.encodeBase64url(crypto.randomBytes(NONCE_BYTES));
        const mac = crypto.encodeBase64url(keyring.sign('login-csrf', COOKIE_LABEL + nonce));
        setCookie.push(
          serializeCookie(o.loginCookie.variant(req.https), `${nonce}.${mac}`, LOGIN_COOKIE_SECONDS),
        );
      }
      return { token: crypto.encodeBase64url(keyring.sign('login-csrf', TOKEN_LABEL + nonce)), setCookie };
    },
    checkLoginToken(req, token) {
      const nonce = nonceOf(req);
      if (!nonce || typeof token !== 'string') return false;
      const bytes = canonicalMac(token, crypto);
      return bytes !== null && keyring.verify('login-csrf', TOKEN_LABEL + nonce, bytes) !== -1;
    },
  };
}

/**
 * The nonce of a cookie value `nonce.mac` whose MAC one of the keyring's keys made, or `null`.
 * An older key that is still in the ring keeps its cookies valid (an open form survives a
 * rotation); a retired one does not.
 */
function mintedNonce(value: string, keyring: Keyring, crypto: SessionCrypto): string | null {
  if (value.length !== NONCE_LENGTH + 1 + MAC_LENGTH || value.charCodeAt(NONCE_LENGTH) !== 46) return null;
  const nonce = value.slice(0, NONCE_LENGTH);
  if (!isBase64url(nonce, NONCE_LENGTH)) return null;
  const mac = canonicalMac(value.slice(NONCE_LENGTH + 1), crypto);
  if (!mac || keyring.verify('login-csrf', COOKIE_LABEL + nonce, mac) === -1) return null;
  return nonce;
}

/**
 * The 32 bytes of a MAC in its one canonical base64url spelling, or `null`: 43 characters carry
 * 2 spare bits, and accepting only zero spare bits keeps one MAC to one spelling.
 */
function canonicalMac(text: string, crypto: SessionCrypto): Uint8Array | null {
  if (!isBase64url(text, MAC_LENGTH)) return null;
  const bytes = crypto.decodeBase64url(text);
  return crypto.encodeBase64url(bytes) === text ? bytes : null;
}
