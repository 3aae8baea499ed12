import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  beginTotpEnrolment,
  completeSignIn,
  confirmTotpEnrolment,
  createUser,
} from '../../packages/cloakroom/src/auth/accounts/index.js';
import { createSecretBox } from '../../packages/cloakroom/src/auth/second-factor/secret-box.js';
import { totpCodeAt } from '../../packages/cloakroom/src/auth/second-factor/totp.js';
import { signIn } from '../../packages/cloakroom/src/auth/sign-in.js';
import { type ManualClock, manualClock } from '../../packages/cloakroom/src/core/clock.js';
import { createSqliteStore } from '../../packages/cloakroom/src/stores/sqlite/index.js';
import { instance, PASSWORD, STEP, type Stores } from '../auth/second-factor-harness.js';
import { linesOf, runCli } from '../support/cli-process.js';
import { cookiePair, incoming, SECRET_A, SECRET_B, SECRET_C } from '../support/core.js';

// `cloakroom secret reseal [--json]`, run as a real process on a data directory whose users
// enrolled their second factor through the library, under secrets the test chooses.
vi.setConfig({ testTimeout: 90_000 });

let dataDir: string;
let clock: ManualClock;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'cloakroom-cli-reseal-'));
  clock = manualClock(Date.now());
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const cli = (args: string[], secrets?: readonly string[]) =>
  runCli(args, {
    env: {
      CLOAKROOM_DATA_DIR: dataDir,
      CLOAKROOM_SECRETS: secrets?.join(','),
      LOG_LEVEL: 'info',
    },
  });

/** Runs `work` on the data directory's database, opened as the server would open it. */
async function onDatabase<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
  const store = createSqliteStore({ path: join(dataDir, 'cloakroom.db'), clock, sweepIntervalMs: 0 });
  try {
    return await work({ ...store, close: () => store.close() });
  } finally {
    await store.close();
  }
}

const request = () => incoming({ method: 'POST', ip: '203.0.113.10' });

/** Enrols `username` on an instance holding `secrets`; returns the key as the app holds it. */
async function enrolUnder(secrets: readonly string[], username: string): Promise<string> {
  return onDatabase(async (stores) => {
    const { deps } = instance(stores, clock, { secrets });
    const created = await createUser(deps, { username, password: PASSWORD }, 'test');
    if (!created.ok) throw new Error(created.message);
    const signedIn = await signIn(deps, request(), { username, password: PASSWORD });
    if (!signedIn.ok) throw new Error(signedIn.error);
    const begun = await beginTotpEnrolment(deps, signedIn.issued.session);
    if (!begun.ok) throw new Error(begun.error);
    const code = totpCodeAt(begun.secret, clock.now());
    const confirmed = await confirmTotpEnrolment(deps, request(), signedIn.issued.session, { code });
    if (!confirmed.ok) throw new Error(confirmed.error);
    clock.advance(2 * STEP);
    return begun.secret;
  });
}

/** Signs `username` in with password and code on an instance holding `secrets` alone. */
const signInWithCode = (secrets: readonly string[], username: string, key: string) =>
  onDatabase(async (stores) => {
    const { deps } = instance(stores, clock, { secrets });
    const first = await signIn(deps, request(), { username, password: PASSWORD });
    if (first.ok) throw new Error(`${username} signed in without a code`);
    if (first.error !== 'second_factor') throw new Error(first.error);
    const pending = incoming({ method: 'POST', ip: '203.0.113.10', cookie: cookiePair(first.setCookie[0]) });
    return completeSignIn(deps, pending, { code: totpCodeAt(key, clock.now()) });
  });

describe('cloakroom secret reseal', () => {
  test('seals every key under the newest secret, names a key no secret opens (exit 1); then the old secret can go', async () => {
    const alice = await enrolUnder([SECRET_A], 'alice');
    await enrolUnder([SECRET_B], 'bob');
    // carol's key was sealed under a secret that is no longer configured.
    await enrolUnder([SECRET_C], 'carol');
    await onDatabase((stores) =>
      createUser(instance(stores, clock).deps, { username: 'dave', password: PASSWORD }, 'test'),
    );

    const run = await cli(['secret', 'reseal'], [SECRET_B, SECRET_A]);
    expect(run.code).toBe(1);
    expect(linesOf(run.stdout)).toEqual([
      'resealed 1 second factor(s) under the newest secret; 1 already were',
      'carol: no configured secret opens their second-factor key; put its secret back and run this again, or run `cloakroom user 2fa reset carol` (they enrol again)',
    ]);
    const stderr = linesOf(run.stderr);
    expect(stderr.at(-1)).toBe(
      'cloakroom: 1 second factor(s) cannot be opened; do not remove a secret until they are dealt with',
    );
    const events = stderr.slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      event: 'second-factors.resealed',
      resealed: 1,
      current: 1,
      unreadable: 1,
    });
    // Counts only: no key, sealed or plain, no secret.
    expect(Object.keys(events[0]!).filter((k) => /secret|key/i.test(k))).toEqual([]);
    expect(run.stderr).not.toContain(alice);

    const json = await cli(['secret', 'reseal', '--json'], [SECRET_B, SECRET_A]);
    expect(json.code).toBe(1);
    const carolId = await onDatabase(async (stores) => (await stores.users.getByUsername('carol'))!.id);
    expect(JSON.parse(json.stdout)).toEqual({
      resealed: 0,
      current: 2,
      unreadable: [{ id: carolId, username: 'carol' }],
    });

    const reset = await cli(['user', '2fa', 'reset', 'carol'], [SECRET_B, SECRET_A]);
    expect(reset.code, reset.stderr).toBe(0);
    const clean = await cli(['secret', 'reseal'], [SECRET_B, SECRET_A]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(linesOf(clean.stdout)).toEqual([
      'resealed 0 second factor(s) under the newest secret; 2 already were',
    ]);
    // Nothing resealed, nothing to audit.
    expect(clean.stderr).toBe('');

    // The old secret is retired: alice, who has not signed in since the rotation, still can.
    expect(await signInWithCode([SECRET_B], 'alice', alice)).toMatchObject({ ok: true });
    const { id, secondFactor } = await onDatabase(
      async (stores) => (await stores.users.getByUsername('alice'))!,
    );
    const sealed = (JSON.parse(secondFactor!) as { totp: { secret: string } }).totp.secret;
    expect(createSecretBox([SECRET_B]).open(sealed, id)).not.toBeNull();
  });

  test('without CLOAKROOM_SECRETS: refused with one line, nothing changed', async () => {
    await enrolUnder([SECRET_A], 'alice');
    const before = await onDatabase(
      async (stores) => (await stores.users.getByUsername('alice'))!.secondFactor,
    );
    const run = await cli(['secret', 'reseal']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(linesOf(run.stderr)).toEqual([
      'cloakroom: secret reseal needs the secrets the server uses: set CLOAKROOM_SECRETS (or CLOAKROOM_SECRETS_FILE), newest first',
    ]);
    expect(
      await onDatabase(async (stores) => (await stores.users.getByUsername('alice'))!.secondFactor),
    ).toBe(before);
  });

  test('the help names it; a wrong secret subcommand names both', async () => {
    const help = await cli(['--help']);
    expect(help.stdout).toMatch(/secret reseal \[--json\]/);
    const wrong = await cli(['secret', 'rotate']);
    expect(wrong.code).toBe(1);
    expect(linesOf(wrong.stderr)).toEqual([
      'cloakroom: usage: cloakroom secret new | secret reseal [--json]',
    ]);
  });
});
