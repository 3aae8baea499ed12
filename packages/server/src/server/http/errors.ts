import type { AccountFailure } from 'cloakroom';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Error codes of the JSON API (docs/api.md), `conflict` included (a taken username, the last admin). */
export type ErrorCode =
  | 'unauthenticated'
  | 'invalid_credentials'
  | 'invalid_code'
  | 'pending_expired'
  | 'invalid_passkey'
  | 'ceremony_expired'
  | 'forbidden'
  | 'second_factor_required'
  | 'device_binding_required'
  | 'reauth_required'
  | 'csrf'
  | 'throttled'
  | 'bad_request'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unavailable'
  | 'busy';

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  unauthenticated: 401,
  invalid_credentials: 401,
  invalid_code: 401,
  pending_expired: 401,
  // 401 at the sign-in and re-auth steps; a registration answers its own 400 (api/passkeys.ts).
  invalid_passkey: 401,
  ceremony_expired: 401,
  forbidden: 403,
  // 403 for a signed-in user who must enrol and at /auth/verify?mfa=1; /api/login answers its
  // own 401 (no one is signed in yet: the password step is done, the second is to come).
  second_factor_required: 403,
  // /auth/verify?bound=1 for a session no device key is bound to (CLOAKROOM_DBSC).
  device_binding_required: 403,
  reauth_required: 403,
  csrf: 403,
  throttled: 429,
  bad_request: 400,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unavailable: 503,
  busy: 503,
};

/** A refusal a handler throws; `onError` turns it into `{"error","message"}`. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: ContentfulStatusCode;
  readonly headers: Record<string, string>;
  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = STATUS[code];
    this.headers = headers;
  }
}

export function errorResponse(
  c: Context,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
) {
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  return c.json({ error: code, message }, STATUS[code]);
}

const ACCOUNT_ERRORS: Record<AccountFailure['error'], ErrorCode> = {
  invalid: 'bad_request',
  taken: 'conflict',
  not_found: 'not_found',
  last_admin: 'conflict',
  wrong_password: 'invalid_credentials',
  conflict: 'conflict',
  closed: 'not_found',
  throttled: 'throttled',
  reauth_required: 'reauth_required',
  invalid_code: 'invalid_code',
  pending_expired: 'pending_expired',
  not_enrolled: 'conflict',
  already_enrolled: 'conflict',
  invalid_passkey: 'invalid_passkey',
  ceremony_expired: 'ceremony_expired',
};

/** The API's answer to a refused account action (its message, its status, `Retry-After`). */
export function accountApiError(failure: AccountFailure): ApiError {
  const headers: Record<string, string> =
    failure.error === 'throttled' ? { 'Retry-After': String(failure.retryAfterSeconds) } : {};
  return new ApiError(ACCOUNT_ERRORS[failure.error], failure.message, headers);
}

/** The HTTP status of a refused account action, for the pages (the same as the API's). */
export function accountStatus(failure: AccountFailure): 400 | 401 | 403 | 404 | 409 | 429 {
  return STATUS[ACCOUNT_ERRORS[failure.error]] as 400 | 401 | 403 | 404 | 409 | 429;
}

/** Unwraps an account action's result for the API: the success, or a thrown {@link ApiError}. */
export function accepted<T extends { ok: true }>(result: T | AccountFailure): T {
  if (!result.ok) throw accountApiError(result);
  return result;
}

/** Answers a password check the limit refused (`PasswordsBusyError`): 503 `busy`, `Retry-After`. */
export function busyError(retryAfterSeconds: number): ApiError {
  return new ApiError('busy', 'Too many sign-ins are being checked right now; try again shortly.', {
    'Retry-After': String(retryAfterSeconds),
  });
}
