import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PASSKEY_ENV, PUBLIC_URL, registerPasskey } from '../support/passkeys-api.js';
import { passwordStep, signInPassword } from '../support/second-factor-api.js';
import { jsonOf, type ServerHarness, startHarness } from '../support/server.js';
import { createSoftAuthenticator } from '../support/soft-authenticator.js';

// With passkeys off (CLOAKROOM_PASSKEYS=off, or `auto` without a usable relying party) every
// passkey route is the 404 of a route that does not exist, for everyone, signed in or not.

const ROUTES = [
  ['POST', '/api/login/passkey/options'],
  ['POST', '/api/login/passkey'],
  ['POST', '/api/login/second-factor/passkey/options'],
  ['POST', '/api/login/second-factor/passkey'],
  ['POST', '/api/reauth/passkey/options'],
  ['POST', '/api/reauth/passkey'],
  ['GET', '/api/account/passkeys'],
  ['POST', '/api/account/passkeys/options'],
  ['POST', '/api/account/passkeys'],
  ['PATCH', '/api/account/passkeys/AAAA'],
  ['DELETE', '/api/account/passkeys/AAAA'],
] as const;

for (const [label, env] of [
  ['CLOAKROOM_PASSKEYS=off', { CLOAKROOM_PASSKEYS: 'off', CLOAKROOM_PUBLIC_URL: 'http://localhost:4000' }],
  ['auto without a relying party (PORT=0, no public URL)', {}],
] as const) {
  describe(label, () => {
    let h: ServerHarness;
    beforeAll(async () => {
      h = await startHarness({ env });
    });
    afterAll(() => h.close());

    test('every passkey route answers 404 not_found, signed out and signed in', async () => {
      const bob = await signInPassword(h, 'bob');
      for (const init of [{}, { jar: bob.jar, csrf: bob.csrf }]) {
        for (const [method, path] of ROUTES) {
          const res = await h.fetch(path, { method, ...init, ...(method === 'GET' ? {} : { json: {} }) });
          expect(res.status, `${method} ${path}`).toBe(404);
          expect(await jsonOf(res)).toMatchObject({ error: 'not_found' });
        }
      }
      expect(h.deps.account.passkeys).toBeUndefined();
    });
  });
}

describe('passkeys registered, then turned off', () => {
  test('the password step offers no passkey, a recovery code finishes it, and admins still see the count', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-passkeys-off-'));
    try {
      const on = await startHarness({ env: PASSKEY_ENV, dataDir });
      let recoveryCodes: string[];
      try {
        const browser = await signInPassword(on, 'bob');
        recoveryCodes = (await registerPasskey(on, browser, createSoftAuthenticator(PUBLIC_URL)))
          .recoveryCodes!;
      } finally {
        await on.close();
      }
      const off = await startHarness({ env: { CLOAKROOM_PASSKEYS: 'off' }, dataDir, users: false });
      try {
        const first = await passwordStep(off, 'bob');
        expect(first.response.status).toBe(401);
        expect(first.body).toMatchObject({
          error: 'second_factor_required',
          factors: [],
          message: 'Enter a recovery code.',
        });
        const done = await off.fetch('/api/login/second-factor', {
          json: { recoveryCode: recoveryCodes[0] },
          jar: first.jar,
        });
        expect(done.status).toBe(200);
        const admin = await signInPassword(off, 'alice');
        const users = await jsonOf<{
          users: Array<{ username: string; passkeys: number; secondFactor: boolean }>;
        }>(await off.fetch('/api/admin/users', { jar: admin.jar }));
        expect(users.users.find((u) => u.username === 'bob')).toMatchObject({
          passkeys: 1,
          secondFactor: true,
        });
      } finally {
        await off.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
