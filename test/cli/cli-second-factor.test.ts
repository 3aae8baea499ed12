import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { linesOf, runCli } from '../support/cli-process.js';
import {
  enrol,
  passwordStep,
  signInPassword,
  signInTwoSteps,
  totpCode,
} from '../support/second-factor-api.js';
import { jsonOf, type ServerHarness, startHarness, TEST_SECRET } from '../support/server.js';

// `cloakroom user 2fa reset NAME` and `cloakroom user reset-link NAME [--clear-2fa] [--json]`,
// run as real processes on the data directory of a running server.
vi.setConfig({ testTimeout: 90_000 });

const NEW_PASSWORD = 'recovered from the terminal 5';
let h: ServerHarness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => h.close());

const cli = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, {
    env: { CLOAKROOM_DATA_DIR: h.dataDir, CLOAKROOM_SECRETS: TEST_SECRET, LOG_LEVEL: 'info', ...env },
  });

/** bob, enrolled and signed in with a code; returns his key. */
async function enrolledBob(): Promise<string> {
  const browser = await signInPassword(h, 'bob');
  const { secret } = await enrol(h, browser, Date.now);
  await signInTwoSteps(h, 'bob', { code: totpCode(secret, Date.now() + 30_000) });
  return secret;
}

describe('cloakroom user 2fa reset NAME', () => {
  test('removes the factor, signs the user out everywhere, audited with by=cli; a second run says there was none', async () => {
    await enrolledBob();
    expect((await passwordStep(h, 'bob')).body.error).toBe('second_factor_required');
    const run = await cli(['user', '2fa', 'reset', 'bob']);
    expect(run.code, run.stderr).toBe(0);
    expect(linesOf(run.stdout)).toEqual(['removed the second factor of bob; 2 session(s) signed out']);
    const event = linesOf(run.stderr)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.event === 'second-factor.reset');
    expect(event).toMatchObject({ userId: h.ids.bob, by: 'cli', revokedSessions: 2 });
    expect(await h.deps.sessions.list(h.ids.bob)).toEqual([]);
    await signInPassword(h, 'bob');

    const again = await cli(['user', '2fa', 'reset', 'bob']);
    expect(again.code).toBe(0);
    expect(linesOf(again.stdout)).toEqual(['bob had no second factor; 0 session(s) signed out']);
  });

  test('usage and unknown users: exit 1 with one line', async () => {
    for (const args of [
      ['user', '2fa'],
      ['user', '2fa', 'reset'],
      ['user', '2fa', 'off', 'bob'],
    ]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(1);
      expect(linesOf(run.stderr)).toEqual(['cloakroom: usage: cloakroom user 2fa reset NAME']);
    }
    const nobody = await cli(['user', '2fa', 'reset', 'nobody']);
    expect(nobody.code).toBe(1);
    expect(linesOf(nobody.stderr)).toEqual(['cloakroom: no user named "nobody"']);
  });
});

describe('cloakroom user reset-link NAME', () => {
  test('without CLOAKROOM_PUBLIC_URL: the path, a note, valid 1 hour and once; the link works once through /api/recover', async () => {
    const run = await cli(['user', 'reset-link', 'bob']);
    expect(run.code, run.stderr).toBe(0);
    const out = linesOf(run.stdout);
    expect(out[0]).toMatch(
      /^recovery link for bob: works once, valid 1 hour \(until \d{4}-\d\d-\d\dT[\d:.]+Z\)$/,
    );
    expect(out[1]).toMatch(/^\/recover\?token=[\w.-]+$/);
    expect(out[2]).toMatch(/CLOAKROOM_PUBLIC_URL/);
    expect(out[3]).toMatch(/the second factor stays/);
    const token = new URLSearchParams(out[1]!.split('?')[1]).get('token')!;
    // The token goes to stdout only, never into the audit line.
    expect(run.stderr).not.toContain(token);
    expect(run.stderr).toMatch(/"event":"recovery-link.issued"/);

    const used = await h.fetch('/api/recover', { json: { token, newPassword: NEW_PASSWORD } });
    expect(used.status).toBe(204);
    await signInPassword(h, 'bob', NEW_PASSWORD);
    const again = await h.fetch('/api/recover', { json: { token, newPassword: 'and once more please 1' } });
    expect(again.status).toBe(404);
    expect(await jsonOf(again)).toMatchObject({ error: 'not_found' });
  });

  test('--json --clear-2fa with CLOAKROOM_PUBLIC_URL: the whole link; using it removes the factor; an earlier link is void', async () => {
    await enrolledBob();
    const earlier = await cli(['user', 'reset-link', 'bob', '--json'], {
      CLOAKROOM_PUBLIC_URL: 'https://login.example.com',
    });
    expect(earlier.code, earlier.stderr).toBe(0);
    const run = await cli(['user', 'reset-link', 'bob', '--clear-2fa', '--json'], {
      CLOAKROOM_PUBLIC_URL: 'https://login.example.com',
    });
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(Object.keys(result).sort()).toEqual(['clearSecondFactor', 'expiresAt', 'path', 'url', 'username']);
    expect(result).toMatchObject({ username: 'bob', clearSecondFactor: true });
    expect(result.url).toBe(`https://login.example.com${result.path as string}`);
    expect(Date.parse(result.expiresAt as string) - Date.now()).toBeGreaterThan(3_590_000);

    const earlierToken = new URL((JSON.parse(earlier.stdout) as { url: string }).url).searchParams.get(
      'token',
    );
    const replaced = await h.fetch('/api/recover', {
      json: { token: earlierToken, newPassword: NEW_PASSWORD },
    });
    expect(replaced.status).toBe(404);

    const token = new URL(result.url as string).searchParams.get('token');
    expect((await h.fetch('/api/recover', { json: { token, newPassword: NEW_PASSWORD } })).status).toBe(204);
    // Factor gone: the new password alone signs in.
    await signInPassword(h, 'bob', NEW_PASSWORD);
  });

  test('an unknown user: exit 1 with one line; no name: one line', async () => {
    const run = await cli(['user', 'reset-link', 'nobody']);
    expect(run.code).toBe(1);
    expect(linesOf(run.stderr)).toEqual(['cloakroom: no user named "nobody"']);
    const none = await cli(['user', 'reset-link']);
    expect(none.code).toBe(1);
    expect(linesOf(none.stderr)).toEqual(['cloakroom: give a username']);
  });

  test('the help names both commands', async () => {
    const run = await cli(['--help']);
    expect(run.stdout).toMatch(/user 2fa reset NAME/);
    expect(run.stdout).toMatch(/user reset-link NAME \[--clear-2fa\] \[--json\]/);
  });
});
