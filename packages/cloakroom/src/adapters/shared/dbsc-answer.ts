import type { ServerResponse } from 'node:http';
import type { DbscAnswer } from '../../core/dbsc.js';
import { appendSetCookie } from './set-cookie.js';

/**
 * The path of a request target as `node:http` gives it (`req.url`, Express's `originalUrl`,
 * Fastify's `url`), without its query string: what the DBSC endpoints are matched on. The
 * paths are compared as sent, as the browser posts to exactly the path the server named.
 */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Writes a DBSC registration or refresh answer whole onto a `node:http` response (node:http
 * itself, and Express, whose `res` is one): its status, each header, each Set-Cookie (merged
 * with any set before, the last value per name winning) and its JSON body, or none.
 */
export function sendDbscAnswer(res: ServerResponse, answer: DbscAnswer): void {
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  appendSetCookie(res, answer.setCookie);
  res.statusCode = answer.status;
  if (answer.body === null) res.end();
  else res.end(answer.body);
}
