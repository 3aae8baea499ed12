import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { linesOf, runCli } from '../support/cli-process.js';
import { PASSKEY_ENV, PUBLIC_URL, passkeySignIn, registerPasskey } from '../support/passkeys-api.js';
import { passwordStep, signInPassword } from '../support/second-factor-api.js';
import { type ServerHarness, startHarness, TEST_SECRET } from '../support/server.js';
import { createSoftAuthenticator } from '../support/soft-authenticator.js';

// `cloakroom user list` counts each user's passkeys, and `cloakroom user 2fa reset NAME` removes
// them with the rest of the second factor — run as real processes on a running server's data.
vi.setConfig({ testTimeout: 90_000 });

let h: ServerHarness;
beforeEach(async () => {
  h = await startHarness({ env: PASSKEY_ENV });
});
afterEach(async () => h.close());

const cli = (args: string[]) =>
  runCli(args, { env: { CLOAKROOM_DATA_DIR: h.dataDir, CLOAKROOM_SECRETS: TEST_SECRET, LOG_LEVEL: 'info' } });

describe('cloakroom user list', () => {
  test('a passkeys column (and `passkeys` in --json); 2fa is true for a user with passkeys only', async () => {
    const browser = await signInPassword(h, 'bob');
    await registerPasskey(h, browser, createSoftAuthenticator(PUBLIC_URL));
    await registerPasskey(h, browser, createSoftAuthenticator(PUBLIC_URL));

    const json = await cli(['user', 'list', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(rows.find((r) => r.username === 'bob')).toMatchObject({ secondFactor: true, passkeys: 2 });
    expect(rows.find((r) => r.username === 'alice')).toMatchObject({ secondFactor: false, passkeys: 0 });
    expect(json.stdout).not.toMatch(/publicKey|counter/);

    const table = await cli(['user', 'list']);
    expect(table.code).toBe(0);
    const [header, ...lines] = linesOf(table.stdout);
    expect(header!.split(/\s+/)).toEqual([
      'id',
      'username',
      'displayName',
      'roles',
      'locked',
      '2fa',
      'passkeys',
      'createdAt',
    ]);
    const bob = lines.find((l) => l.includes(' bob '))!.split(/\s+/);
    expect(bob.slice(-3, -1)).toEqual(['true', '2']);
  });
});

describe('cloakroom user 2fa reset', () => {
  test('removes the passkeys: the passkey no longer signs in, the password alone does', async () => {
    const authenticator = createSoftAuthenticator(PUBLIC_URL);
    await registerPasskey(h, await signInPassword(h, 'bob'), authenticator);
    expect((await passwordStep(h, 'bob')).body.error).toBe('second_factor_required');

    const run = await cli(['user', '2fa', 'reset', 'bob']);
    expect(run.code, run.stderr).toBe(0);
    expect(linesOf(run.stdout)[0]).toMatch(/^removed the second factor of bob/);
    const list = JSON.parse((await cli(['user', 'list', '--json'])).stdout) as Array<Record<string, unknown>>;
    expect(list.find((r) => r.username === 'bob')).toMatchObject({ secondFactor: false, passkeys: 0 });

    const { response, body } = await passkeySignIn(h, authenticator);
    expect(response.status).toBe(401);
    expect(body).toMatchObject({ error: 'invalid_passkey' });
    await signInPassword(h, 'bob');
  });
});
