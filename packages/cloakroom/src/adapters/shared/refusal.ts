import type { CsrfRefusal, Sessions } from '../../core/sessions.js';
import type { AuthState } from './auth-state.js';

/** A guard's refusal (the same shape as the Hono adapter's). */
export type Refusal =
  | { status: 401; error: 'unauthenticated' }
  | { status: 403; error: 'forbidden'; role: string }
  | { status: 403; error: 'csrf'; reason: CsrfRefusal };

const MESSAGES: Record<Refusal['error'], string> = {
  unauthenticated: 'Sign in first.',
  forbidden: 'You do not have the role this needs.',
  csrf: 'This request failed the cross-site request forgery check.',
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

/** `requireUser`: 401 unless signed in (and, with a user store, the user exists and is unlocked). */
export function userRefusal(state: AuthState, hasUsers: boolean): Refusal | null {
  return !state.session || (hasUsers && !state.user) ? { status: 401, error: 'unauthenticated' } : null;
}

/** `requireRole`: 401 when signed out, 403 without `role`. */
export function roleRefusal(state: AuthState, role: string): Refusal | null {
  if (!state.session || !state.user) return { status: 401, error: 'unauthenticated' };
  return state.user.roles.includes(role) ? null : { status: 403, error: 'forbidden', role };
}

/**
 * `csrf`: safe methods pass; with a session, the origin gate then the token; without one, only
 * the origin gate (there is no secret to check a token against).
 */
export function csrfRefusal(sessions: Sessions, state: AuthState, token: string | null): Refusal | null {
  const reason = state.session
    ? sessions.checkCsrf(state.request, state.session, token)
    : sessions.checkOrigin(state.request);
  return reason ? { status: 403, error: 'csrf', reason } : null;
}
