import type { HeaderSource } from '../../core/request.js';

/**
 * Whether a body of this `Content-Type` may carry `_csrf`. Only HTML form encodings: a
 * `text/plain` or JSON body never does, so a cross-site "simple" request cannot smuggle a
 * token-shaped field past the check.
 */
export function isFormContentType(contentType: string | null | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data';
}

/** `URLSearchParams` and `FormData`: every value of a field, in order. */
interface FieldList {
  getAll(name: string): unknown[];
}

/**
 * The CSRF token a request presents: the `X-CSRF-Token` header, else `_csrf` of an already
 * parsed form body. Never the query string. `body` is whatever the framework's body parser
 * produced: a plain object (`express.urlencoded()`, `@fastify/formbody`, Hono's
 * `parseBody({ all: true })`), `URLSearchParams` or `FormData`, or multipart fields as
 * `{ value }` objects (`@fastify/multipart`). A field sent twice is no token, whichever parser
 * read it: parsers disagree on which of two values wins (the first, the last, or both as a
 * list), and a proxy or log in front may have read the other one.
 */
export function submittedToken(headers: HeaderSource, body: unknown): string | null {
  const header = headers.get('x-csrf-token');
  if (header) return header;
  if (!isFormContentType(headers.get('content-type')) || typeof body !== 'object' || body === null) {
    return null;
  }
  if (typeof (body as Partial<FieldList>).getAll === 'function') {
    const values = (body as FieldList).getAll('_csrf');
    return values.length === 1 && typeof values[0] === 'string' ? values[0] : null;
  }
  const field = (body as Record<string, unknown>)._csrf;
  if (typeof field === 'string') return field;
  if (typeof field === 'object' && field !== null && 'value' in field) {
    const { value } = field as { value: unknown };
    return typeof value === 'string' ? value : null;
  }
  return null;
}
