import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Error codes of the JSON API (DESIGN.md, "HTTP API"), plus `conflict` for a taken username. */
export type ErrorCode =
  | 'unauthenticated'
  | 'invalid_credentials'
  | 'forbidden'
  | 'csrf'
  | 'throttled'
  | 'bad_request'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unavailable';

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  unauthenticated: 401,
  invalid_credentials: 401,
  forbidden: 403,
  csrf: 403,
  throttled: 429,
  bad_request: 400,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unavailable: 503,
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
