import { isPublicId } from 'cloakroom';
import type { Context } from 'hono';
import { ApiError } from './errors.js';

/**
 * The shape of a user id: every user store (memory, SQLite, PostgreSQL) assigns `randomUUID()`,
 * which is lower-case. Anything else names no user, so it is answered before a store sees it:
 * PostgreSQL rejects a NUL in text with an error that would otherwise read as an outage (503).
 */
const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether a route parameter can be a user id. */
export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && USER_ID.test(value);
}

/** The `:id` of an admin user route; `404 not_found` for anything that cannot be a user id. */
export function userIdParam(c: Context): string {
  const id = c.req.param('id');
  if (!isUserId(id)) throw new ApiError('not_found', 'No such user.');
  return id;
}

/** The `:id` of a session route; `404 not_found` for anything that cannot be a public session id. */
export function sessionIdParam(c: Context): string {
  const id = c.req.param('id');
  if (!isPublicId(id)) throw new ApiError('not_found', 'No such session.');
  return id;
}

/** A credential id: base64url of at most 1,023 bytes (WebAuthn), as the browser reports it. */
const PASSKEY_ID = /^[A-Za-z0-9_-]{1,1364}$/;

/** The `:id` of a passkey route; `404 not_found` for anything that cannot be a credential id. */
export function passkeyIdParam(c: Context): string {
  const id = c.req.param('id');
  if (id === undefined || !PASSKEY_ID.test(id)) throw new ApiError('not_found', 'No such passkey.');
  return id;
}
