import { findCookie, serializeCookie } from './cookie.js';
import { base64urlLength, isBase64url } from './crypto.js';
import type { ResolvedOptions } from './options.js';
import type { IncomingRequest } from './request.js';

const NONCE_LENGTH = base64urlLength(32);
/** Two hours to fill in a login form. */
const LOGIN_COOKIE_SECONDS = 2 * 60 * 60;

/**
 * Login CSRF without a server-side session per anonymous visitor (OWASP "signed
 * double-submit cookie"): the login page sets a random nonce in an HttpOnly cookie and puts
 * HMAC(login key, nonce) in the form. A forged form cannot know the HMAC; a tossed cookie
 * cannot be paired with a valid HMAC without the key. The origin gate runs before this.
 */
export interface LoginCsrf {
  /** A token for the login form, and the nonce cookie to set if the browser has none yet. */
  issueLoginToken(request: IncomingRequest): { token: string; setCookie: string[] };
  /** Whether `token` matches the request's nonce cookie. Malformed input is `false`. */
  checkLoginToken(request: IncomingRequest, token: string | null | undefined): boolean;
}

export function createLoginCsrf(o: ResolvedOptions): LoginCsrf {
  const { keyring, crypto } = o;
  const nonceOf = (req: IncomingRequest): string | null => {
    const found = findCookie(req.headers.get('cookie'), o.loginCookie.variant(req.https).name);
    return 'value' in found && isBase64url(found.value, NONCE_LENGTH) ? found.value : null;
  };
  return {
    issueLoginToken(req) {
      let nonce = nonceOf(req);
      const setCookie: string[] = [];
      if (!nonce) {
        nonce = crypto.encodeBase64url(crypto.randomBytes(32));
        setCookie.push(serializeCookie(o.loginCookie.variant(req.https), nonce, LOGIN_COOKIE_SECONDS));
      }
      return { token: crypto.encodeBase64url(keyring.sign('login-csrf', nonce)), setCookie };
    },
    checkLoginToken(req, token) {
      const nonce = nonceOf(req);
      if (!nonce || typeof token !== 'string' || !isBase64url(token, NONCE_LENGTH)) return false;
      const bytes = crypto.decodeBase64url(token);
      if (crypto.encodeBase64url(bytes) !== token) return false;
      return keyring.verify('login-csrf', nonce, bytes) !== -1;
    },
  };
}
