import type { Context } from 'hono';
import { ApiError } from './http.js';

/** Largest request body accepted (DESIGN.md: 413 above 64 KiB). */
export const MAX_BODY_BYTES = 64 * 1024;

/** A request body as plain fields, and how it came (forms get `_csrf` and 303s). */
export interface Input {
  fields: Record<string, unknown>;
  form: boolean;
}

/**
 * Reads a JSON or URL-encoded body into an object with no prototype. The media type must be
 * exactly `application/json` or `application/x-www-form-urlencoded` (parameters such as
 * charset allowed): anything else is 400, so a `text/plain` "simple request" can never
 * smuggle JSON (FastAPI CVE-2021-32677). Repeated form fields are refused, not merged.
 */
export async function readInput(c: Context): Promise<Input> {
  const types = c.req.raw.headers.get('content-type');
  const type = (types ?? '').split(';')[0]!.trim().toLowerCase();
  if (types?.includes(',')) throw new ApiError('bad_request', 'Send exactly one Content-Type.');
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await c.req.text());
    } catch {
      throw new ApiError('bad_request', 'The body is not valid JSON.');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ApiError('bad_request', 'The body must be a JSON object.');
    }
    return { fields: Object.assign(Object.create(null), parsed) as Record<string, unknown>, form: false };
  }
  if (type === 'application/x-www-form-urlencoded') {
    const params = new URLSearchParams(await c.req.text());
    const fields: Record<string, unknown> = Object.create(null);
    for (const [key, value] of params) {
      if (key in fields)
        throw new ApiError('bad_request', `The field ${JSON.stringify(key.slice(0, 40))} is repeated.`);
      fields[key] = value;
    }
    return { fields, form: true };
  }
  throw new ApiError('bad_request', 'Send application/json or application/x-www-form-urlencoded.');
}

/** A string field, or 400. */
export function stringField(
  input: Input,
  name: string,
  options: { optional?: boolean; max?: number } = {},
): string | undefined {
  const value = input.fields[name];
  if (value === undefined && options.optional) return undefined;
  if (typeof value !== 'string') throw new ApiError('bad_request', `${name} must be a string.`);
  if (value.length > (options.max ?? 4096)) throw new ApiError('bad_request', `${name} is too long.`);
  return value;
}

/** A boolean field: JSON `true`/`false`; a form checkbox `on`/`true`/`1`, absent = false. */
export function booleanField(input: Input, name: string): boolean | undefined {
  const value = input.fields[name];
  if (value === undefined) return input.form ? false : undefined;
  if (typeof value === 'boolean' && !input.form) return value;
  if (input.form && typeof value === 'string') {
    if (['on', 'true', '1'].includes(value)) return true;
    if (['off', 'false', '0', ''].includes(value)) return false;
  }
  throw new ApiError('bad_request', `${name} must be true or false.`);
}

/** A list of strings: a JSON array, or a comma-separated form field. */
export function listField(input: Input, name: string): string[] | undefined {
  const value = input.fields[name];
  if (value === undefined) return undefined;
  if (input.form && typeof value === 'string')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw new ApiError('bad_request', `${name} must be a list of strings.`);
}
