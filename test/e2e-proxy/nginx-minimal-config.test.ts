// Many published auth_request snippets forward only `X-Original-Method` and leave every other
// header of the client's request as it came — nginx passes them all on to the auth subrequest.
// A client-sent `X-Forwarded-Method: GET` must then not vouch for a cross-site POST
// (found with this test: /auth/verify used to read X-Forwarded-Method first and stop there).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { apiLogin, type ServerProcess, startServerProcess } from '../support/server-process.js';
import { freePort } from '../support/services.js';
import { type EchoServer, type NginxProcess, nginxConfig, startEchoServer, startNginx } from './nginx.js';

const PASSWORD = 'minimal config secret 1';

let echo: EchoServer;
let server: ServerProcess;
let nginx: NginxProcess;

beforeAll(async () => {
  echo = await startEchoServer();
  // No CLOAKROOM_TRUST_PROXY: this gateway does not overwrite X-Forwarded-*.
  server = await startServerProcess({ CLOAKROOM_ADMIN_USER: 'admin', CLOAKROOM_ADMIN_PASSWORD: PASSWORD });
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-nginx-'));
  const http = `
  upstream cloakroom { server 127.0.0.1:${new URL(server.url).port}; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://cloakroom;
      proxy_set_header Host $http_host;
    }
    location = /_auth {
      internal;
      proxy_pass http://cloakroom/auth/verify;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
    }
    location /app/ {
      auth_request /_auth;
      auth_request_set $auth_user $upstream_http_x_auth_user;
      proxy_pass http://127.0.0.1:${echo.port};
      proxy_set_header X-Auth-User $auth_user;
    }
  }`;
  nginx = await startNginx(nginxConfig(dir, http), port, dir);
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  await server?.stop();
  await echo?.close();
});

test('a client-sent X-Forwarded-Method: GET does not let a cross-site POST through', async () => {
  const { cookie } = await apiLogin(nginx.origin, 'admin', PASSWORD);
  const before = echo.received.length;
  for (const headers of [
    { 'sec-fetch-site': 'cross-site', 'x-forwarded-method': 'GET' },
    { origin: 'http://evil.test', 'x-forwarded-method': 'HEAD' },
    { origin: 'http://evil.test', 'x-forwarded-method': 'OPTIONS' },
  ]) {
    const res = await fetch(`${nginx.origin}/app/transfer`, {
      method: 'POST',
      headers: { cookie, ...headers },
      body: 'amount=100',
    });
    expect(res.status, JSON.stringify(headers)).toBe(403);
  }
  expect(echo.received.length - before).toBe(0);
});

test('the same-origin POST still passes, and so does a cross-site GET', async () => {
  const { cookie } = await apiLogin(nginx.origin, 'admin', PASSWORD);
  const post = await fetch(`${nginx.origin}/app/transfer`, {
    method: 'POST',
    headers: { cookie, origin: nginx.origin, 'x-forwarded-method': 'GET' },
    body: 'amount=100',
  });
  expect(post.status).toBe(200);
  const get = await fetch(`${nginx.origin}/app/page`, {
    headers: { cookie, 'sec-fetch-site': 'cross-site', 'x-forwarded-method': 'POST' },
  });
  // The client's own X-Forwarded-Method: POST on a cross-site GET only makes the check stricter.
  expect(get.status).toBe(403);
  expect(echo.received.at(-1)?.headers['x-auth-user']).toBe('admin');
});
