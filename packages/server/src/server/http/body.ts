import type { Context } from 'hono';
import { createScanner } from 'jsonc-parser';
import { ApiError } from './errors.js';

/** Largest request body accepted: above it, 413. */
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
 * smuggle JSON (FastAPI CVE-2021-32677). Repeated form fields and repeated JSON keys are
 * refused, not merged: `JSON.parse` keeps the last of two `"username"`s, and a proxy, WAF or
 * audit log in front may have read the first (RFC 8259 §4: such a body's meaning is
 * unpredictable).
 */
export async function readInput(c: Context): Promise<Input> {
  const types = c.req.raw.headers.get('content-type');
  const type = (types ?? '').split(';')[0]!.trim().toLowerCase();
  if (types?.includes(',')) throw new ApiError('bad_request', 'Send exactly one Content-Type.');
  if (type === 'application/json') {
    const text = await c.req.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ApiError('bad_request', 'The body is not valid JSON.');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ApiError('bad_request', 'The body must be a JSON object.');
    }
    const repeated = repeatedKey(text);
    if (repeated !== null)
      throw new ApiError('bad_request', `The key ${JSON.stringify(repeated.slice(0, 40))} is repeated.`);
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

// Token kinds of jsonc-parser's scanner (its `SyntaxKind` is a const enum, which a module
// compiled on its own cannot read from a declaration file).
const OPEN_BRACE = 1;
const CLOSE_BRACE = 2;
const OPEN_BRACKET = 3;
const CLOSE_BRACKET = 4;
const COMMA = 5;
const STRING = 10;
const EOF = 17;

/**
 * The first key that occurs twice in one object of `text`, at any depth, or `null`. Only for
 * text `JSON.parse` has accepted: the scanner is lenient, so here it only tells tokens apart, and
 * it decodes escapes as `JSON.parse` does (`"a"` and `"\u0061"` are one key). One pass with an
 * explicit stack, not jsonc-parser's recursive `visit`, which overflows its call stack on deeply
 * nested arrays that `JSON.parse` takes.
 */
function repeatedKey(text: string): string | null {
  const scanner = createScanner(text, true);
  /** The keys seen so far in each open object; `null` for an open array. */
  const open: Array<Set<string> | null> = [];
  let keyNext = false;
  for (let token: number = scanner.scan(); token !== EOF; token = scanner.scan()) {
    if (token === STRING && keyNext) {
      const keys = open[open.length - 1]!;
      const key = scanner.getTokenValue();
      if (keys.has(key)) return key;
      keys.add(key);
      keyNext = false;
    } else if (token === OPEN_BRACE) {
      open.push(new Set());
      keyNext = true;
    } else if (token === OPEN_BRACKET) {
      open.push(null);
      keyNext = false;
    } else if (token === CLOSE_BRACE || token === CLOSE_BRACKET) {
      open.pop();
      keyNext = false;
    } else {
      keyNext = token === COMMA && open[open.length - 1] != null;
    }
  }
  return null;
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
