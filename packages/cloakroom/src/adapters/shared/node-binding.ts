import type { ServerResponse } from 'node:http';
import type { AuthState } from './auth-state.js';
import { authStateAccess, type Binding } from './engine.js';
import { appendSetCookie, type HeaderSink } from './set-cookie.js';

/**
 * The binding of the adapters over a `node:http` response (node:http itself, and Express, whose
 * `res` is one): the state is a plain {@link AuthState}, and cookies go onto the response's
 * `Set-Cookie` header as soon as they are known, merged so the last value per name wins — the
 * header is the request's cookie queue, and Node writes it once, with the head (no patching of
 * `res.end`).
 */
export const nodeBinding: Binding<AuthState, HeaderSink> = {
  ...authStateAccess,
  attach(res, request, session, user, reason) {
    // A handler may replace this with its own Cache-Control (e.g. `private, max-age=60`).
    if (session) res.setHeader('Cache-Control', 'no-store');
    return { session, user, reason, request };
  },
  setCookies: appendSetCookie,
  noStore(res) {
    res.setHeader('Cache-Control', 'no-store');
  },
  setHeader(res, name, value) {
    res.setHeader(name, value);
  },
};

/**
 * A JSON answer on a bare `node:http` response. `writeHead` merges with headers set earlier by
 * `setHeader`, so queued Set-Cookie values (a clearing cookie on a 401) survive.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}
