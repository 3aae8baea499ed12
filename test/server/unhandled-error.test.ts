import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ServerHarness, startHarness } from '../support/server.js';

/**
 * A fault that is a bug, not a store outage: a users row whose `roles` is not a JSON list (as
 * another tool writing to the database could leave it). Loading that user throws a TypeError
 * outside any store call, so it reaches `onError` as a plain Error: a 500, never the detail.
 */
describe('an unhandled error (500)', () => {
  let h: ServerHarness;
  let cookie: string;
  beforeAll(async () => {
    h = await startHarness();
    cookie = (await h.login('bob')).cookie;
    const db = new Database(join(h.dataDir, 'cloakroom.db'));
    try {
      db.prepare("UPDATE users SET roles = '5' WHERE username = 'bob'").run();
    } finally {
      db.close();
    }
  });
  afterAll(async () => h.close());

  const SECURITY_HEADERS = {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
  };

  test('on a page path it is an HTML 500 page with the security headers and no error detail', async () => {
    // Regression: page paths got the API's JSON 500.
    const res = await h.fetch('/account', { cookie });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name)).toBe(value);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toMatch(/^<html[ >]/);
    expect(html).toContain('Something went wrong');
    expect(html).not.toMatch(/TypeError|iterable|stack|at \w+ \(|node_modules|\/src\//);
    expect(h.logs.some((l) => l.msg === 'unhandled error')).toBe(true);
  });

  test('on an API path it stays JSON {"error":"internal"}, with the security headers and no detail', async () => {
    const res = await h.fetch('/api/session', { cookie });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name)).toBe(value);
    expect(await res.json()).toEqual({ error: 'internal', message: 'Something went wrong.' });
  });
});
