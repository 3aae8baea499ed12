import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { UserRecord } from '../../packages/cloakroom/src/auth/types.js';
import { type CliRun, linesOf, runCli } from '../support/cli-process.js';
import {
  CookieJar,
  jsonOf,
  type Login,
  PASSWORD,
  type ServerHarness,
  startHarness,
  TEST_SECRET,
} from '../support/server.js';

// Wherever a password is set — the JSON API, the HTML forms, the CLI, the start-up variables —
// a commonly used password and one containing the username are refused (NIST SP 800-63B
// §5.1.1.2), with a message that says why, and nothing changes.

// The CLI cases spawn node processes (1–2 s each on a busy machine).
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const COMMON = /is one of the most commonly used passwords/;
const HAS_USERNAME = /must not contain the username/;
/** A password the policy accepts for every user here. */
const GOOD_PASSWORD = 'violet harbour lantern';

/** A refused password for an account, and the message it must give. */
interface Refusal {
  what: string;
  /** The account the case uses (its own, so one case that wrongly succeeds spoils no other). */
  username: string;
  password: string;
  message: RegExp;
}

/** The refused passwords, each for its own account `${base}1`, `${base}2`, … */
const refusals = (base: string): Refusal[] => [
  { what: 'a common password', username: `${base}1`, password: 'password123', message: COMMON },
  { what: 'another common password', username: `${base}2`, password: 'qwertyuiop', message: COMMON },
  {
    what: 'a password containing the username',
    username: `${base}3`,
    // Compared after case folding: the upper-case name inside is still the name.
    password: `the ${base.toUpperCase()}3 of 42 harbours`,
    message: HAS_USERNAME,
  },
];

/** The `_csrf` field of a page's form. */
async function formToken(response: Response): Promise<string> {
  expect(response.status).toBe(200);
  const token = /name="_csrf" value="([^"]+)"/.exec(await response.text())?.[1];
  if (!token) throw new Error('the page has no _csrf field');
  return token;
}

describe('the server', () => {
  let h: ServerHarness;
  let admin: Login;
  beforeAll(async () => {
    h = await startHarness();
    admin = await h.login('alice');
  });
  afterAll(async () => h?.close());

  const usernames = async () => (await h.deps.users.list()).map((u) => u.username).sort();
  /** A fresh user with {@link PASSWORD}, and their record as stored now. */
  async function freshUser(username: string): Promise<UserRecord> {
    const { id } = await h.createUser(username);
    const record = await h.deps.users.getById(id);
    if (!record) throw new Error(`${username} was not stored`);
    return record;
  }
  /** The record (hash, epoch, updatedAt) is as it was, and the old password still signs in. */
  async function expectUnchanged(before: UserRecord): Promise<void> {
    expect(await h.deps.users.getById(before.id)).toEqual(before);
    await h.login(before.username, PASSWORD);
  }

  describe('POST /api/admin/users (create a user)', () => {
    for (const { what, username, password, message } of refusals('dora')) {
      test(`refuses ${what}: 400 with the reason, no user created`, async () => {
        const before = await usernames();
        const res = await h.fetch('/api/admin/users', {
          cookie: admin.cookie,
          csrf: admin.csrf,
          json: { username, password },
        });
        expect(res.status).toBe(400);
        const body = await jsonOf<{ error: string; message: string }>(res);
        expect(body.error).toBe('bad_request');
        expect(body.message).toMatch(message);
        expect(await usernames()).toEqual(before);
      });
    }
  });

  describe('POST /api/password (a user changes their own)', () => {
    for (const { what, username, password, message } of refusals('erin')) {
      test(`refuses ${what}: 400 with the reason, the old password still signs in`, async () => {
        const before = await freshUser(username);
        const user = await h.login(username);
        const res = await h.fetch('/api/password', {
          cookie: user.cookie,
          csrf: user.csrf,
          json: { currentPassword: PASSWORD, newPassword: password },
        });
        expect(res.status).toBe(400);
        const body = await jsonOf<{ error: string; message: string }>(res);
        expect(body.error).toBe('bad_request');
        expect(body.message).toMatch(message);
        await expectUnchanged(before);
      });
    }
  });

  describe('POST /api/admin/users/:id/password (an admin resets one)', () => {
    for (const { what, username, password, message } of refusals('finn')) {
      test(`refuses ${what}: 400 with the reason, the old password still signs in`, async () => {
        const before = await freshUser(username);
        const res = await h.fetch(`/api/admin/users/${before.id}/password`, {
          cookie: admin.cookie,
          csrf: admin.csrf,
          json: { password },
        });
        expect(res.status).toBe(400);
        const body = await jsonOf<{ error: string; message: string }>(res);
        expect(body.error).toBe('bad_request');
        expect(body.message).toMatch(message);
        await expectUnchanged(before);
      });
    }
  });

  describe('the admin page form (POST /admin/users)', () => {
    for (const { what, username, password, message } of refusals('gwen')) {
      test(`refuses ${what}: a 400 page with the reason, no user created`, async () => {
        const csrf = await formToken(await h.fetch('/admin', { cookie: admin.cookie }));
        const before = await usernames();
        const res = await h.fetch('/admin/users', {
          cookie: admin.cookie,
          form: { username, password, displayName: '', roles: '', _csrf: csrf },
        });
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toMatch(/^text\/html/);
        expect(await res.text()).toMatch(message);
        expect(await usernames()).toEqual(before);
      });
    }
  });

  describe('the account page password form (POST /account/password)', () => {
    for (const { what, username, password, message } of refusals('hugo')) {
      test(`refuses ${what}: a 400 page with the reason, the old password still signs in`, async () => {
        const before = await freshUser(username);
        const user = await h.login(username);
        const csrf = await formToken(await h.fetch('/account', { cookie: user.cookie }));
        const res = await h.fetch('/account/password', {
          cookie: user.cookie,
          form: { currentPassword: PASSWORD, newPassword: password, confirmPassword: password, _csrf: csrf },
        });
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toMatch(/^text\/html/);
        expect(await res.text()).toMatch(message);
        await expectUnchanged(before);
      });
    }
  });
});

describe('the first-run set-up form (POST /setup)', () => {
  for (const { what, username, password, message } of refusals('ada')) {
    test(`refuses ${what}: a 400 page with the reason, no admin created`, async () => {
      const h = await startHarness({ users: false });
      try {
        const line = h.logs.find((l) => l.event === 'setup.needed') as { setupUrl?: string } | undefined;
        if (!line?.setupUrl) throw new Error('the server logged no set-up link');
        const link = new URL(line.setupUrl);
        const jar = new CookieJar();
        const csrf = await formToken(await h.fetch(`${link.pathname}${link.search}`, { jar }));
        const res = await h.fetch('/setup', {
          jar,
          headers: { origin: h.origin, 'sec-fetch-site': 'same-origin' },
          form: {
            _csrf: csrf,
            token: link.searchParams.get('token') ?? '',
            username,
            password,
            confirm: password,
          },
        });
        expect(res.status).toBe(400);
        expect(await res.text()).toMatch(message);
        expect(await h.deps.users.count()).toBe(0);
      } finally {
        await h.close();
      }
    });
  }
});

describe('the CLI (user add, user passwd)', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cloakroom-password-rules-'));
    env = { CLOAKROOM_DATA_DIR: dir, CLOAKROOM_SECRETS: TEST_SECRET };
    // The accounts `user passwd` is tried on, made in the same data dir the CLI opens.
    const h = await startHarness({ dataDir: dir, users: false });
    try {
      for (const { username } of refusals('ivan')) await h.createUser(username, { password: GOOD_PASSWORD });
    } finally {
      await h.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cli = (args: string[], input: string) => runCli(args, { env, input });
  /** Exit 1, one `cloakroom: …` line with the reason, nothing on stdout, the password not echoed. */
  function expectRefused(run: CliRun, password: string, message: RegExp): void {
    expect(run.code, run.stderr).toBe(1);
    expect(linesOf(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^cloakroom: /);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
    expect(run.stdout + run.stderr).not.toContain(password);
  }
  const listed = async () => {
    const run = await runCli(['user', 'list', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as Array<{ username: string; updatedAt: string }>;
  };

  for (const { what, username, password, message } of refusals('carol')) {
    test(`user add refuses ${what}: exit 1 with the reason, no user created`, async () => {
      const before = await listed();
      expectRefused(await cli(['user', 'add', username, '--password-stdin'], password), password, message);
      expect(await listed()).toEqual(before);
    });
  }

  for (const { what, username, password, message } of refusals('ivan')) {
    test(`user passwd refuses ${what}: exit 1 with the reason, the old password still signs in`, async () => {
      const before = await listed();
      expectRefused(await cli(['user', 'passwd', username, '--password-stdin'], password), password, message);
      expect(await listed()).toEqual(before);
      const h = await startHarness({ dataDir: dir, users: false });
      try {
        await h.login(username, GOOD_PASSWORD);
      } finally {
        await h.close();
      }
    });
  }
});

describe('CLOAKROOM_ADMIN_PASSWORD at start-up', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cloakroom-password-rules-serve-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const { what, username, password, message } of refusals('root')) {
    test(`refuses ${what}: one line naming the variable, the password not echoed, no database made`, async () => {
      const dataDir = join(dir, username);
      const run = await runCli(['serve'], {
        env: {
          PORT: '0',
          HOST: '127.0.0.1',
          CLOAKROOM_DATA_DIR: dataDir,
          CLOAKROOM_SECRETS: TEST_SECRET,
          CLOAKROOM_ADMIN_USER: username,
          CLOAKROOM_ADMIN_PASSWORD: password,
        },
        timeoutMs: 15_000,
      });
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(linesOf(run.stderr)).toHaveLength(1);
      expect(run.stderr).toMatch(/^cloakroom: CLOAKROOM_ADMIN_PASSWORD: /);
      expect(run.stderr).toMatch(message);
      expect(run.stdout + run.stderr).not.toContain(password);
      expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([]);
    });
  }
});
