import type { CsrfRefusal } from '../../core/sessions.js';

/** A guard's refusal (the same shape as the Hono adapter's). */
export type Refusal =
  | { status: 401; error: 'unauthenticated' }
  | { status: 403; error: 'forbidden'; role: string }
  | { status: 403; error: 'csrf'; reason: CsrfRefusal }
  /**
   * `requireRecentAuth`: signed in, but the last proof of a factor is older than `maxAgeMs`. The
   * client asks for the password (and code) again, then retries (ASVS 5.0 §7.5: re-authenticate
   * before sensitive changes). `maxAgeMs` is the window the guard applied.
   */
  | { status: 403; error: 'reauth_required'; maxAgeMs: number };

const MESSAGES: Record<Refusal['error'], string> = {
  unauthenticated: 'Sign in first.',
  forbidden: 'You do not have the role this needs.',
  csrf: 'This request failed the cross-site request forgery check.',
  reauth_required: 'Confirm it is you (your password, and code if you use one) to do this.',
};

/** The JSON body of a refusal (docs/api.md): `{ error, message }`, no reason a client could use. */
export function refusalBody(refusal: Refusal): { error: string; message: string } {
  return { error: refusal.error, message: MESSAGES[refusal.error] };
}

/** The JSON body of a `503` while the store is down; never driver detail. */
export const UNAVAILABLE_BODY = Object.freeze({
  error: 'unavailable',
  message: 'The session store is unavailable; try again shortly.',
});

/** What an adapter answers for a request body its framework could not read. */
export interface BodyRefusal {
  status: 400 | 413;
  body: { readonly error: 'bad_request' | 'payload_too_large' };
}

const BAD_REQUEST: BodyRefusal = Object.freeze({
  status: 400,
  body: Object.freeze({ error: 'bad_request' }),
});
const PAYLOAD_TOO_LARGE: BodyRefusal = Object.freeze({
  status: 413,
  body: Object.freeze({ error: 'payload_too_large' }),
});

/**
 * The answer to a body the framework's parser refused with `status`, in docs/api.md's error
 * codes: over the size limit is `413 payload_too_large` (RFC 9110 §15.5.14); malformed, an
 * unsupported media type or charset, or a length that does not match is `400 bad_request`
 * (RFC 9110 §15.5.1) — the same code an application answers for malformed JSON it parses itself
 * (docs/adapters.md), so a client sees one answer whichever adapter is behind the route. Only
 * the code: never the parser's message, which may quote the body, nor its stack.
 */
export function bodyRefusal(status: number): BodyRefusal {
  return status === 413 ? PAYLOAD_TOO_LARGE : BAD_REQUEST;
}
