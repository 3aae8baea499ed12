import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BACKENDS, startHarnessOn } from '../support/backends.js';
import { jsonOf, type Login, type ServerHarness } from '../support/server.js';

// A new username that only looks like an existing one (Cyrillic а for Latin a, dotless ı, …) is
// refused, because a person reading a list of users, an audit line or a "shared with" dialog
// cannot tell the two apart (Unicode TS #39, section 4). The store keeps the confusable skeleton
// in a unique column, so the refusal also holds between requests that race each other.

const LOOKALIKE = 'That username looks too much like an existing one; choose a clearly different name.';
const TAKEN = 'That username is taken.';
/** A password that passes the policy and contains none of the names below. */
const NEW_PASSWORD = 'lantern over the harbour';

/** Look-alikes of `alice` (which the harness creates), each a different canonical username. */
const ALICE_LOOKALIKES: Array<[string, string]> = [
  ['\u0430lice', 'a Cyrillic а (U+0430) for the a'],
  ['\u0251lice', 'a Latin alpha ɑ (U+0251) for the a'],
  ['al\u0131ce', 'a dotless ı (U+0131) for the i'],
  ['AL\u0130CE', 'upper case with a dotted İ (U+0130), which folds to i + a combining dot'],
];

/**
 * Ten different look-alikes of `oscar`, a name nobody holds yet: each swaps one letter for a
 * character that confusables.txt maps to it.
 */
const OSCAR_LOOKALIKES = [
  '\u043Escar', // Cyrillic о
  '\u03BFscar', // Greek omicron
  '\u0585scar', // Armenian օ
  'o\u0455car', // Cyrillic ѕ
  'o\uA731car', // Latin letter small capital s
  'os\u0441ar', // Cyrillic с
  'os\u1D04ar', // Latin letter small capital c
  'osc\u0430r', // Cyrillic а
  'osc\u0251r', // Latin alpha
  'osc\u03B1r', // Greek alpha
];

for (const backend of BACKENDS) {
  describe(`look-alike usernames (${backend})`, () => {
    let h: ServerHarness;
    let admin: Login;
    beforeAll(async () => {
      h = await startHarnessOn(backend);
      admin = await h.login('alice');
    });
    afterAll(async () => h?.close());

    const createViaApi = (username: string, password = NEW_PASSWORD) =>
      h.fetch('/api/admin/users', { cookie: admin.cookie, csrf: admin.csrf, json: { username, password } });
    const usernames = async () => (await h.deps.users.list()).map((u) => u.username).sort();

    for (const [name, how] of ALICE_LOOKALIKES) {
      test(`the API refuses ${JSON.stringify(name)} (${how}) next to alice: 409 with the look-alike message, no user created`, async () => {
        const before = await usernames();
        const res = await createViaApi(name);
        expect(res.status).toBe(409);
        expect(await jsonOf(res)).toEqual({ error: 'conflict', message: LOOKALIKE });
        expect(await usernames()).toEqual(before);
      });
    }

    test('ΟΔΟΣ and οδοσ (and οδος, final sigma) are one name under case folding: "taken", and οδοσ signs in as ΟΔΟΣ', async () => {
      const first = await createViaApi('ΟΔΟΣ');
      expect(first.status).toBe(201);
      const { user } = await jsonOf<{ user: { id: string; username: string } }>(first);
      expect(user.username).toBe('οδοσ');
      for (const again of ['οδοσ', 'οδος']) {
        const res = await createViaApi(again, 'another harbour lantern');
        expect(res.status, again).toBe(409);
        expect(await jsonOf(res)).toEqual({ error: 'conflict', message: TAKEN });
      }
      const login = await h.login('οδοσ', NEW_PASSWORD);
      expect(login.user.id).toBe(user.id);
    });

    test('the admin page form refuses a look-alike: 409, the message on the page, no user created', async () => {
      const page = await h.fetch('/admin', { cookie: admin.cookie });
      expect(page.status).toBe(200);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1];
      if (!csrf) throw new Error('the admin page has no _csrf field');
      const before = await usernames();
      const res = await h.fetch('/admin/users', {
        cookie: admin.cookie,
        form: { username: '\u0430lice', password: NEW_PASSWORD, displayName: '', roles: '', _csrf: csrf },
      });
      expect(res.status).toBe(409);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain(LOOKALIKE);
      expect(await usernames()).toEqual(before);
    });

    test('of 10 parallel creations of 10 different look-alikes of one new name, exactly one succeeds', async () => {
      const before = await usernames();
      const answers = await Promise.all(OSCAR_LOOKALIKES.map((name) => createViaApi(name)));
      const bodies = await Promise.all(answers.map((res) => jsonOf<{ message?: string }>(res)));
      expect(answers.map((res) => res.status).sort()).toEqual([201, ...Array<number>(9).fill(409)]);
      for (const [i, res] of answers.entries()) {
        if (res.status === 409) expect(bodies[i]).toEqual({ error: 'conflict', message: LOOKALIKE });
      }
      const after = await usernames();
      const added = after.filter((name) => !before.includes(name));
      expect(added).toHaveLength(1);
      expect(OSCAR_LOOKALIKES).toContain(added[0]);
    });
  });
}
