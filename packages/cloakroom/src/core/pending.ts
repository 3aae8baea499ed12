import { findCookie, serializeCookie } from './cookie.js';
import { base64urlLength, isBase64url } from './crypto.js';
import type { ResolvedOptions } from './options.js';
import type { IncomingRequest } from './request.js';

const NONCE_BYTES = 16;
const MAC_LENGTH = base64urlLength(32); // 43
/** Far more than the fields below need; anything longer is refused before it is decoded. */
const MAX_PAYLOAD_LENGTH = 1024;
const LABEL = 'pending:';

/**
 * What a pending sign-in remembers: who proved the first factor and how. It is no session: the
 * session cookie is untouched, so no route that validates sessions ever sees it.
 */
export interface PendingSignIn {
  userId: string;
  /** The user's credential epoch read before the first factor was checked. */
  epoch: number;
  remember: boolean;
  /** The methods proved so far (`['pwd']`). */
  methods: readonly string[];
  /**
   * Random, unique per pending state: whoever finishes the sign-in records it as used (in a
   * store every instance shares), so one pending state yields at most one session.
   */
  nonce: string;
  /** When the state stops being accepted (ms epoch). */
  expiresAt: number;
}

/**
 * The state between a first factor and a second (OWASP: the pending state is no session,
 * ASVS 6.3.4): an `HttpOnly` cookie of its own (`cloakroom-pending`, `__Host-` over HTTPS),
 * holding the state and a MAC under a key of its own purpose, so neither a session cookie nor a
 * login token can pass for it. Short-lived (`pendingTimeout`, default five minutes), bound to the
 * browser that holds the cookie. Single use is the caller's: see {@link PendingSignIn.nonce}.
 */
export interface PendingSignIns {
  /** The cookie that carries a new pending state, and the state. */
  issuePending(
    request: IncomingRequest,
    state: Omit<PendingSignIn, 'nonce' | 'expiresAt'>,
  ): { pending: PendingSignIn; setCookie: string[] };
  /** The request's pending state if its MAC holds and it has not expired; else `null`. */
  readPending(request: IncomingRequest): PendingSignIn | null;
  /** The Set-Cookie that removes the pending cookie. */
  clearPending(request: IncomingRequest): string[];
}

export function createPendingSignIns(o: ResolvedOptions): PendingSignIns {
  const { keyring, crypto, clock } = o;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  return {
    issuePending(req, state) {
      checkMethods(state.methods, 'issuePending');
      const pending: PendingSignIn = {
        userId: state.userId,
        epoch: state.epoch,
        remember: state.remember,
        methods: [...state.methods],
        nonce: crypto.encodeBase64url(crypto.randomBytes(NONCE_BYTES)),
        expiresAt: clock.now() + o.pendingMs,
      };
      const body = crypto.encodeBase64url(
        encoder.encode(
          JSON.stringify([
            pending.userId,
            pending.epoch,
            pending.remember,
            pending.methods,
            pending.nonce,
            pending.expiresAt,
          ]),
        ),
      );
      const mac = crypto.encodeBase64url(keyring.sign('pending-sign-in', LABEL + body));
      const cookie = serializeCookie(
        o.pendingCookie.variant(req.https),
        `${body}.${mac}`,
        o.pendingMs / 1000,
      );
      return { pending, setCookie: [cookie] };
    },
    readPending(req) {
      const found = findCookie(req.headers.get('cookie'), o.pendingCookie.variant(req.https).name);
      if (!('value' in found)) return null;
      const value = found.value;
      const dot = value.indexOf('.');
      if (dot <= 0 || dot > MAX_PAYLOAD_LENGTH || value.length !== dot + 1 + MAC_LENGTH) return null;
      const body = value.slice(0, dot);
      const macText = value.slice(dot + 1);
      if (!isBase64url(body, body.length) || !isBase64url(macText, MAC_LENGTH)) return null;
      const mac = crypto.decodeBase64url(macText);
      if (crypto.encodeBase64url(mac) !== macText) return null;
      if (keyring.verify('pending-sign-in', LABEL + body, mac) === -1) return null;
      const pending = parse(decoder.decode(crypto.decodeBase64url(body)));
      return pending && clock.now() < pending.expiresAt ? pending : null;
    },
    clearPending(req) {
      return [serializeCookie(o.pendingCookie.variant(req.https), '', 0)];
    },
  };
}

/** The state a MAC vouched for; `null` for anything but the exact shape written above. */
function parse(text: string): PendingSignIn | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 6) return null;
  const [userId, epoch, remember, methods, nonce, expiresAt] = value as unknown[];
  if (
    typeof userId !== 'string' ||
    !Number.isSafeInteger(epoch) ||
    typeof remember !== 'boolean' ||
    !Array.isArray(methods) ||
    !methods.every((m) => typeof m === 'string') ||
    typeof nonce !== 'string' ||
    !Number.isSafeInteger(expiresAt)
  )
    return null;
  return {
    userId,
    epoch: epoch as number,
    remember,
    methods: methods as string[],
    nonce,
    expiresAt: expiresAt as number,
  };
}

/** RFC 8176 names and the like: they end up in a response header (`X-Auth-Methods`). */
const METHOD = /^[a-z][a-z0-9_-]{0,15}$/;

/** Throws on a method name that is not a short lower-case word (misuse, not input). */
export function checkMethods(methods: unknown, where: string): void {
  if (
    !Array.isArray(methods) ||
    methods.length > 8 ||
    !methods.every((m) => typeof m === 'string' && METHOD.test(m))
  )
    throw new TypeError(`${where}: methods must be short lower-case names like 'pwd' or 'otp'`);
}
