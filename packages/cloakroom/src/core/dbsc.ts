import { findCookie, serializeCookie } from './cookie.js';
import { isBase64url } from './crypto.js';
import { type BindingAlgorithm, headerString, type Proof, parseProof, verifyProof } from './dbsc-proof.js';
import { StoreError, toStoreError } from './errors.js';
import type { ResolvedDbsc, ResolvedOptions } from './options.js';
import { checkOrigin, ownOrigin } from './origin.js';
import type { IncomingRequest } from './request.js';
import type { SessionBinding, SessionRecord } from './store.js';
import { publicIdOf } from './token.js';
import { createVerifiedSignatures } from './verified-signatures.js';

/*
 * Device Bound Session Credentials (W3C WebAppSec `dbsc-1`, editor's draft of 2026-02-17).
 *
 * After sign-in the answer offers registration (`Secure-Session-Registration`) with a challenge
 * derived from the new session's store key. A browser that supports DBSC makes a key pair in
 * the device's secure hardware and posts a proof signed by it to the registration path; the
 * public key goes into the session record (`SessionRecord.binding`) and the browser gets a
 * short-lived bound cookie. From then on every request of the session needs that cookie too,
 * and only the device can get a new one: the refresh path hands out a single-use challenge that
 * lives in the session record (so every instance sees it) and trades a proof over it for a new
 * bound cookie. A copied session cookie is then worth at most what is left of a bound cookie.
 */

const ID_BYTES = 16;
const ID_LENGTH = 22;
const CHALLENGE_BYTES = 32;
const MAC_LENGTH = 43;
const DEADLINE = /^[1-9]\d{0,15}$/;
/** Clock skew allowed on a proof's `iat`, beyond the challenge lifetime. */
const SKEW_MS = 60_000;
/**
 * How long after registration a request without any bound cookie still passes. The browser
 * registers while it follows the sign-in's redirect, so its next requests can leave before the
 * registration's answer (and the bound cookie) arrives, and reach the server after the binding
 * is stored (seen in Chromium: 7-13 ms later). Binding a session takes effect this much later;
 * a request with a bound cookie that is wrong is refused at once.
 */
export const REGISTRATION_GRACE_MS = 10_000;

export const REGISTRATION_HEADER = 'Secure-Session-Registration';
export const CHALLENGE_HEADER = 'Secure-Session-Challenge';
export const RESPONSE_HEADER = 'secure-session-response';
export const SESSION_ID_HEADER = 'sec-secure-session-id';

/** Why a registration or refresh was refused. */
export type DbscRefusal =
  | 'csrf'
  | 'no-session'
  | 'missing-proof'
  | 'missing-session-id'
  | 'malformed-proof'
  | 'algorithm'
  | 'bad-key'
  | 'bad-signature'
  | 'bad-challenge'
  | 'bad-audience'
  | 'stale-proof'
  | 'already-bound'
  | 'unknown-binding';

/** What happened, for audit logs and metrics. Never carries a token, key or challenge. */
export type DbscEvent =
  | { type: 'registered'; userId: string; sessionId: string; alg: BindingAlgorithm }
  | { type: 'refreshed'; userId: string; sessionId: string }
  /** A refresh without a proof (or over a used or stale challenge) was sent a challenge. */
  | { type: 'challenged'; userId: string; sessionId: string }
  /** A refresh for a session that is over: the browser is told to stop (`continue: false`). */
  | { type: 'ended'; userId: string | null; sessionId: string | null; reason: DbscRefusal }
  | {
      type: 'refused';
      step: 'registration' | 'refresh';
      reason: DbscRefusal;
      userId: string | null;
      sessionId: string | null;
    };

/** The whole answer to a registration or refresh request; adapters write it as it is. */
export interface DbscAnswer {
  status: number;
  /** Header names as the draft spells them; `Content-Type` and `Cache-Control` included. */
  headers: Record<string, string>;
  setCookie: string[];
  /** JSON text, or `null` for an empty body. */
  body: string | null;
  event: DbscEvent;
}

/** Device-bound sessions, when `createSessions({ dbsc })` turned them on. */
export interface DeviceBoundSessions {
  /** Where browsers post their registration proof (POST). */
  readonly registrationPath: string;
  /** Where browsers trade a proof for a new bound cookie (POST). */
  readonly refreshPath: string;
  /** The name of the bound cookie for this request (`__Host-…-bound` over HTTPS). */
  boundCookieName(request: IncomingRequest): string;
  /** Answers `POST registrationPath`. Throws `StoreError` when the store is down (answer 503). */
  register(request: IncomingRequest): Promise<DbscAnswer>;
  /** Answers `POST refreshPath`. Throws `StoreError` when the store is down (answer 503). */
  refresh(request: IncomingRequest): Promise<DbscAnswer>;
}

/** A live session read from the request's session cookie. */
export interface LiveSession {
  record: SessionRecord;
  storeKey: string;
}

/** What the sessions core lends the device-binding half. */
export interface DbscParts {
  readLive(request: IncomingRequest): Promise<LiveSession | null>;
}

/** The internals sessions.ts calls on its own paths (sign-in, validation, sign-out). */
export interface DbscInternals extends DeviceBoundSessions {
  /** The registration offer for a session just created. */
  offer(request: IncomingRequest, storeKey: string): Record<string, string>;
  /**
   * Whether the request proves the device: a valid bound cookie for `binding`, or no bound cookie
   * at all within {@link REGISTRATION_GRACE_MS} of a registration not yet refreshed. No store access.
   */
  provesDevice(request: IncomingRequest, binding: SessionBinding): boolean;
  /** The Set-Cookie that removes the bound cookie. */
  clearBoundCookie(request: IncomingRequest): string;
}

export function createDeviceBinding(o: ResolvedOptions, d: ResolvedDbsc, parts: DbscParts): DbscInternals {
  const { keyring, crypto, clock, store } = o;
  const bind = store.bind?.bind(store);
  if (!bind) throw new TypeError('dbsc: the store has no bind()'); // options.ts refuses this first

  const verified = o.rememberVerified > 0 ? createVerifiedSignatures(o.rememberVerified) : undefined;
  const random = (bytes: number) => crypto.encodeBase64url(crypto.randomBytes(bytes));
  const mac = (purpose: 'dbsc-registration' | 'dbsc-bound', data: string) =>
    crypto.encodeBase64url(keyring.sign(purpose, data));
  const macHolds = (purpose: 'dbsc-registration' | 'dbsc-bound', data: string, text: string) => {
    if (!isBase64url(text, MAC_LENGTH)) return false;
    const bytes = crypto.decodeBase64url(text);
    // One canonical spelling: a MAC with other trailing bits is not the MAC we issued.
    return crypto.encodeBase64url(bytes) === text && keyring.verify(purpose, data, bytes) !== -1;
  };
  const sameText = (a: string, b: string) => {
    const encoder = new TextEncoder();
    return crypto.timingSafeEqual(encoder.encode(a), encoder.encode(b));
  };

  const boundCookie = (req: IncomingRequest, binding: SessionBinding, now: number) => {
    const value = `${binding.id}.${now + d.boundMs}`;
    return serializeCookie(
      d.cookie.variant(req.https),
      `${value}.${mac('dbsc-bound', value)}`,
      d.boundMs / 1000,
    );
  };

  /** The JSON session instructions (draft §"JSON Session Instruction Format"). */
  const instructions = (req: IncomingRequest, binding: SessionBinding) => {
    const variant = d.cookie.variant(req.https);
    const origin = ownOrigin(req);
    return JSON.stringify({
      session_identifier: binding.id,
      refresh_url: d.refreshPath,
      scope: {
        ...(origin ? { origin } : {}),
        include_site: false,
        scope_specification: d.excludePaths.map((path) => ({ type: 'exclude', path })),
      },
      credentials: [{ type: 'cookie', name: variant.name, attributes: variant.attributes.slice(2) }],
    });
  };

  const challengeHeader = (binding: SessionBinding, challenge: string) => ({
    [CHALLENGE_HEADER]: `"${challenge}";id="${binding.id}"`,
  });

  const answer = (
    status: number,
    event: DbscEvent,
    extra: { headers?: Record<string, string>; setCookie?: string[]; body?: string | null } = {},
  ): DbscAnswer => ({
    status,
    headers: {
      'Cache-Control': 'no-store',
      ...(extra.body ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
      ...extra.headers,
    },
    setCookie: extra.setCookie ?? [],
    body: extra.body ?? null,
    event,
  });

  const errorBody = (error: string, message: string) => JSON.stringify({ error, message });

  const refused = (
    step: 'registration' | 'refresh',
    status: number,
    reason: DbscRefusal,
    live: LiveSession | null,
    message: string,
  ): DbscAnswer =>
    answer(
      status,
      {
        type: 'refused',
        step,
        reason,
        userId: live?.record.userId ?? null,
        sessionId: live ? publicIdOf(live.storeKey) : null,
      },
      {
        body: errorBody(
          status === 401 ? 'unauthenticated' : status === 403 ? 'csrf' : 'bad_request',
          message,
        ),
      },
    );

  /** The audience a proof names, if it names one, must be this endpoint. */
  const audienceHolds = (req: IncomingRequest, proof: Proof, path: string) => {
    if (proof.aud === null) return true;
    const origin = ownOrigin(req);
    if (!origin) return false;
    try {
      const url = new URL(proof.aud);
      return url.origin === origin && url.pathname === path;
    } catch {
      return false;
    }
  };
  const issuedRecently = (proof: Proof, now: number) =>
    proof.iat === null || Math.abs(now - proof.iat * 1000) <= d.challengeMs + SKEW_MS;

  async function attempt<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw error instanceof StoreError ? error : toStoreError(operation, error);
    }
  }

  const registrationChallenge = (storeKey: string, deadline: number) =>
    `${deadline}.${mac('dbsc-registration', `${storeKey}.${deadline}`)}`;
  const registrationChallengeHolds = (storeKey: string, text: string, now: number) => {
    const dot = text.indexOf('.');
    if (dot === -1) return false;
    const deadline = text.slice(0, dot);
    if (!DEADLINE.test(deadline) || now >= Number(deadline)) return false;
    return macHolds('dbsc-registration', `${storeKey}.${deadline}`, text.slice(dot + 1));
  };

  return {
    registrationPath: d.registrationPath,
    refreshPath: d.refreshPath,

    boundCookieName: (req) => d.cookie.variant(req.https).name,

    offer(_req, storeKey) {
      const challenge = registrationChallenge(storeKey, clock.now() + d.challengeMs);
      return {
        [REGISTRATION_HEADER]: `(${d.algorithms.join(' ')});path="${d.registrationPath}";challenge="${challenge}"`,
      };
    },

    provesDevice(req, binding) {
      const found = findCookie(req.headers.get('cookie'), d.cookie.variant(req.https).name);
      if ('missing' in found)
        return (
          binding.refreshedAt === binding.boundAt && clock.now() - binding.boundAt < REGISTRATION_GRACE_MS
        );
      if (!('value' in found) || found.value.length > ID_LENGTH + MAC_LENGTH + 18) return false;
      const parts = found.value.split('.');
      if (parts.length !== 3) return false;
      const [id, deadline, macText] = parts as [string, string, string];
      if (id !== binding.id || !DEADLINE.test(deadline) || clock.now() >= Number(deadline)) return false;
      const signed = `${id}.${deadline}`;
      // A bound cookie presented again skips its HMAC (~5 µs under load), as the session cookie
      // does: its MAC alone is worthless without the session's token, which is never kept here.
      if (verified?.lookup(signed, macText) !== undefined) return true;
      if (!macHolds('dbsc-bound', signed, macText)) return false;
      verified?.remember(signed, macText, 0);
      return true;
    },

    clearBoundCookie: (req) => serializeCookie(d.cookie.variant(req.https), '', 0),

    async register(req) {
      const step = 'registration';
      if (checkOrigin(req, o.trustedOrigins))
        return refused(step, 403, 'csrf', null, 'Registration must come from this origin.');
      const live = await parts.readLive(req);
      if (!live) return refused(step, 401, 'no-session', null, 'Sign in first.');
      const text = headerString(req.headers.get(RESPONSE_HEADER));
      if (!text) return refused(step, 400, 'missing-proof', live, 'Send Secure-Session-Response.');
      const proof = parseProof(text, d.algorithms);
      if (typeof proof === 'string') return refused(step, 400, proof, live, 'The proof is not acceptable.');
      if (!proof.jwk) return refused(step, 400, 'bad-key', live, 'The proof carries no public key.');
      if (!verifyProof(proof, proof.jwk, proof.alg))
        return refused(step, 400, 'bad-signature', live, 'The proof is not signed by its key.');
      const now = clock.now();
      if (!registrationChallengeHolds(live.storeKey, proof.jti, now))
        return refused(step, 400, 'bad-challenge', live, 'The proof does not sign this session’s challenge.');
      if (!audienceHolds(req, proof, d.registrationPath))
        return refused(step, 400, 'bad-audience', live, 'The proof was made for another endpoint.');
      if (!issuedRecently(proof, now))
        return refused(step, 400, 'stale-proof', live, 'The proof is too old.');
      if (live.record.binding)
        return refused(step, 400, 'already-bound', live, 'This session is already bound to a device.');
      const binding: SessionBinding = {
        id: random(ID_BYTES),
        alg: proof.alg,
        jwk: proof.jwk,
        boundAt: now,
        refreshedAt: now,
        challenge: random(CHALLENGE_BYTES),
        challengeExpiresAt: now + d.challengeMs,
      };
      // Compare-and-set from unbound: of two registrations racing, one binds and one is refused.
      if (!(await attempt('bind', () => bind(live.storeKey, null, binding))))
        return refused(step, 400, 'already-bound', live, 'This session is already bound to a device.');
      return answer(
        200,
        {
          type: 'registered',
          userId: live.record.userId,
          sessionId: publicIdOf(live.storeKey),
          alg: proof.alg,
        },
        {
          headers: challengeHeader(binding, binding.challenge!),
          setCookie: [boundCookie(req, binding, now)],
          body: instructions(req, binding),
        },
      );
    },

    async refresh(req) {
      const step = 'refresh';
      const id = headerString(req.headers.get(SESSION_ID_HEADER));
      if (!id || !isBase64url(id, ID_LENGTH))
        return refused(step, 400, 'missing-session-id', null, 'Send Sec-Secure-Session-Id.');
      if (checkOrigin(req, o.trustedOrigins))
        return refused(step, 400, 'csrf', null, 'Refresh must come from this origin.');
      const live = await parts.readLive(req);
      const binding = live?.record.binding ?? null;
      /** The session is over (or was never bound by this browser): tell it to stop refreshing. */
      const ended = (reason: DbscRefusal, keepBoundCookie = false) =>
        answer(
          200,
          {
            type: 'ended',
            reason,
            userId: live?.record.userId ?? null,
            sessionId: live ? publicIdOf(live.storeKey) : null,
          },
          {
            // The bound cookie goes too, unless the session is bound anew (a later sign-in in this
            // browser): then it is that binding's, and this answer concerns an older one.
            setCookie: keepBoundCookie ? [] : [serializeCookie(d.cookie.variant(req.https), '', 0)],
            body: JSON.stringify({ session_identifier: id, continue: false }),
          },
        );
      if (!live || !binding || !sameText(binding.id, id))
        return ended(live ? 'unknown-binding' : 'no-session', binding !== null);
      const event = { userId: live.record.userId, sessionId: publicIdOf(live.storeKey) };
      const text = headerString(req.headers.get(RESPONSE_HEADER));
      const now = clock.now();

      /** 403 with a challenge: the current one while it has half its life left, else a new one. */
      const challenge = async (): Promise<DbscAnswer> => {
        let current = binding;
        if (!(current.challenge && current.challengeExpiresAt - now > d.challengeMs / 2)) {
          const next = {
            ...current,
            challenge: random(CHALLENGE_BYTES),
            challengeExpiresAt: now + d.challengeMs,
          };
          if (await attempt('bind', () => bind(live.storeKey, current, next))) current = next;
          else {
            // Another request moved the binding on first: hand out what it left, unless the
            // session ended meanwhile.
            const fresh = (await attempt('get', () => store.get(live.storeKey)))?.binding;
            if (!fresh?.challenge || fresh.id !== binding.id) return ended('no-session');
            current = fresh;
          }
        }
        return answer(
          403,
          { type: 'challenged', ...event },
          {
            headers: challengeHeader(current, current.challenge!),
            body: errorBody('challenge_required', 'Sign the challenge in Secure-Session-Challenge.'),
          },
        );
      };

      if (!text) return challenge();
      const proof = parseProof(text, [binding.alg]);
      if (typeof proof === 'string') return refused(step, 400, proof, live, 'The proof is not acceptable.');
      // Signed by the session's key, or nothing else is looked at: no challenge for a forger.
      if (!verifyProof(proof, binding.jwk, binding.alg))
        return refused(step, 400, 'bad-signature', live, 'The proof is not signed by this session’s key.');
      if (!audienceHolds(req, proof, d.refreshPath))
        return refused(step, 400, 'bad-audience', live, 'The proof was made for another endpoint.');
      const fresh =
        binding.challenge !== null &&
        now < binding.challengeExpiresAt &&
        sameText(binding.challenge, proof.jti) &&
        issuedRecently(proof, now);
      // The device's own key over an old challenge: a latecomer, not a forger. Challenge again.
      if (!fresh) return challenge();
      const next: SessionBinding = {
        ...binding,
        refreshedAt: now,
        challenge: random(CHALLENGE_BYTES),
        challengeExpiresAt: now + d.challengeMs,
      };
      // The challenge is spent by this compare-and-set: of N parallel proofs over it, one wins.
      if (!(await attempt('bind', () => bind(live.storeKey, binding, next)))) {
        const current = (await attempt('get', () => store.get(live.storeKey)))?.binding;
        if (!current?.challenge || current.id !== binding.id) return ended('no-session');
        return answer(
          403,
          { type: 'challenged', ...event },
          {
            headers: challengeHeader(current, current.challenge),
            body: errorBody('challenge_required', 'That challenge was used; sign the new one.'),
          },
        );
      }
      return answer(
        200,
        { type: 'refreshed', ...event },
        {
          headers: challengeHeader(next, next.challenge!),
          setCookie: [boundCookie(req, next, now)],
          body: instructions(req, next),
        },
      );
    },
  };
}
