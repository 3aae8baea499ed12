// After a key rotation, /auth/verify re-signs an old cookie with the newest key at its next
// renewal; the documented nginx configuration must pass that Set-Cookie on to the browser, or a
// user who only ever visits protected services would keep the old-key cookie until it dies.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  apiLogin,
  SERVER_SECRET,
  type ServerProcess,
  startServerProcess,
} from '../support/server-process.js';
import { freePort } from '../support/services.js';
import { documentedNginxConfig, replaceOnce } from './docs-config.js';
import { type EchoServer, type NginxProcess, nginxConfig, startEchoServer, startNginx } from './nginx.js';

const PASSWORD = 'rotation gateway secret 1';
/** The new key (32 random bytes, base64url); SERVER_SECRET becomes the old one. Tests only. */
const NEW_SECRET = 'ESKshziHw7Ag6V2H3U3W8yUtw8ByWxZnsOU5zK_RDsQ';

let echo: EchoServer;
let server: ServerProcess;
let nginx: NginxProcess;
let oldCookie = '';
let signedInAt = 0;

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-rotation-'));
  const base = {
    CLOAKROOM_DATA_DIR: dataDir,
    CLOAKROOM_ADMIN_USER: 'admin',
    CLOAKROOM_ADMIN_PASSWORD: PASSWORD,
    CLOAKROOM_TRUST_PROXY: 'true',
  };
  // Signed in while the old key was the only one.
  const before = await startServerProcess({ ...base, CLOAKROOM_SECRETS: SERVER_SECRET });
  const login = await apiLogin(before.url, 'admin', PASSWORD);
  expect(login.status).toBe(200);
  oldCookie = login.cookie;
  signedInAt = Date.now();
  await before.stop();

  // The rotation: a new key first, the old one still verifying.
  server = await startServerProcess({
    ...base,
    CLOAKROOM_SECRETS: `${NEW_SECRET},${SERVER_SECRET}`,
    CLOAKROOM_TOUCH_INTERVAL: '1s',
  });
  echo = await startEchoServer();
  const port = await freePort();
  let config = documentedNginxConfig();
  config = replaceOnce(config, 'listen 80;', `listen 127.0.0.1:${port};`);
  config = replaceOnce(config, 'server 127.0.0.1:3000;', `server 127.0.0.1:${new URL(server.url).port};`);
  config = replaceOnce(config, 'server 127.0.0.1:8080;', `server 127.0.0.1:${echo.port};`);
  config = replaceOnce(config, 'server 127.0.0.1:8081;', `server 127.0.0.1:${echo.port};`);
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-nginx-'));
  nginx = await startNginx(nginxConfig(dir, config), port, dir);
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  await server?.stop();
  await echo?.close();
});

test('an old-key cookie is re-signed through the gateway, and the new cookie works on its own', async () => {
  // Past the touch interval, so this request renews the session (and re-signs its cookie).
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, signedInAt + 1_100 - Date.now())));
  const res = await fetch(`${nginx.origin}/app/`, { headers: { cookie: oldCookie } });
  expect(res.status).toBe(200);
  expect(echo.received.at(-1)?.headers['x-auth-user']).toBe('admin');

  const relayed = res.headers.getSetCookie();
  expect(relayed).toHaveLength(1);
  expect(relayed[0]).toMatch(/; HttpOnly/i);
  const newCookie = relayed[0]!.split(';')[0]!;
  const [oldToken, oldSignature] = oldCookie.split('=')[1]!.split('.');
  const [newToken, newSignature] = newCookie.split('=')[1]!.split('.');
  expect(newCookie.split('=')[0]).toBe('cloakroom');
  expect(newToken).toBe(oldToken); // the same session…
  expect(newSignature).not.toBe(oldSignature); // …under the new key

  const again = await fetch(`${nginx.origin}/app/`, { headers: { cookie: newCookie } });
  expect(again.status).toBe(200);
  expect(again.headers.getSetCookie()).toEqual([]);
});
