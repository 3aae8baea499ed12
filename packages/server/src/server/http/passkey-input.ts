import type { Context } from 'hono';
import { type Input, readInput } from './body.js';
import { ApiError } from './errors.js';

/*
 * The browser's `PublicKeyCredential.toJSON()`, checked for shape before any passkey use case
 * sees it: a body of the wrong shape is `400 bad_request` and touches nothing — no challenge is
 * used up, nothing is audited or logged. The bounds are those `cloakroom/passkeys` reads a
 * response with (never looser: what passes here, the library reads), so that only a response
 * that is well formed and still does not verify becomes `invalid_passkey`.
 */

/** Unpadded base64url, as `toJSON()` writes it. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** A credential id is at most 1,023 bytes (WebAuthn 5.8.4). */
const MAX_ID = 1364;
const MAX_CLIENT_DATA = 4096;
const MAX_AUTHENTICATOR_DATA = 4096;
const MAX_SIGNATURE = 4096;
const MAX_ATTESTATION_OBJECT = 8192;
/** A user handle is at most 64 bytes (WebAuthn 5.4.3). */
const MAX_USER_HANDLE = 86;

const refuse = (what: string): never => {
  throw new ApiError('bad_request', `response${what}.`);
};

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function base64url(source: Record<string, unknown>, name: string, max: number, where = '.response'): void {
  const value = source[name];
  if (typeof value !== 'string' || value.length > max || !BASE64URL.test(value))
    refuse(`${where}.${name} must be base64url text of at most ${max} characters`);
}

/** `clientDataJSON` must at least be JSON naming a challenge: the library reads that before anything. */
function clientData(inner: Record<string, unknown>): void {
  base64url(inner, 'clientDataJSON', MAX_CLIENT_DATA);
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(inner.clientDataJSON as string, 'base64url').toString('utf8'));
  } catch {
    data = null;
  }
  if (!isObject(data) || typeof data.challenge !== 'string')
    refuse('.response.clientDataJSON must be the base64url of a JSON object with a challenge');
}

/** What both kinds share: `id` = `rawId`, `type`, and a `response` object (returned). */
function credential(input: Input): Record<string, unknown> {
  const value = input.fields.response;
  if (!isObject(value)) return refuse(' must be the JSON of the browser’s PublicKeyCredential');
  base64url(value, 'id', MAX_ID, '');
  if (value.rawId !== value.id) refuse('.rawId must equal response.id');
  if (value.type !== 'public-key') refuse('.type must be "public-key"');
  if (!isObject(value.response)) refuse('.response must be an object');
  return value.response as Record<string, unknown>;
}

/** Checks the `response` of a registration finish (`navigator.credentials.create()`), or 400. */
export function checkRegistration(input: Input): void {
  const inner = credential(input);
  clientData(inner);
  base64url(inner, 'attestationObject', MAX_ATTESTATION_OBJECT);
  const { transports } = inner;
  if (
    transports !== undefined &&
    !(Array.isArray(transports) && transports.length <= 16 && transports.every((t) => typeof t === 'string'))
  )
    refuse('.response.transports must be a list of at most 16 transport names');
}

/** Checks the `response` of a sign-in, second-factor or re-auth finish (`navigator.credentials.get()`), or 400. */
export function checkAuthentication(input: Input): void {
  const inner = credential(input);
  clientData(inner);
  base64url(inner, 'authenticatorData', MAX_AUTHENTICATOR_DATA);
  base64url(inner, 'signature', MAX_SIGNATURE);
  // Absent, `null` or empty: the authenticator named no user (fine for a second factor).
  const handle = inner.userHandle;
  if (handle !== undefined && handle !== null && handle !== '')
    base64url(inner, 'userHandle', MAX_USER_HANDLE);
}

/** The body of a finish: a JSON object (a form cannot carry a credential). */
export async function jsonInput(c: Context, already?: Input): Promise<Input> {
  const input = already ?? (await readInput(c));
  if (input.form) throw new ApiError('bad_request', 'Send the passkey response as application/json.');
  return input;
}

/**
 * The body of a begin (`…/options`): none at all, or a JSON object (or form) whose fields are
 * ignored. A body with a Content-Type goes through `readInput`, so `text/plain` is still refused.
 */
export async function optionalInput(c: Context): Promise<Input> {
  if (c.req.header('content-type') === undefined && (await c.req.text()) === '')
    return { fields: Object.create(null), form: false };
  return readInput(c);
}
