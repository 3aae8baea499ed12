import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { type HonoHarness, honoHarness } from '../../support/hono-app.js';

let h: HonoHarness;
beforeEach(async () => {
  h = await honoHarness();
});
afterEach(async () => h.close());

describe('per-session data: no lost updates', () => {
  test('100 parallel requests changing different keys all keep their change (real SQLite)', async () => {
    const { cookie, csrf } = await h.login('alice');
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        h.request('/data', {
          method: 'POST',
          cookie,
          headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
          body: JSON.stringify({ [`key${i}`]: `value${i}` }),
        }),
      ),
    );
    expect(responses.every((r) => r.status === 204)).toBe(true);
    const data = (await (await h.request('/data', { cookie })).json()) as Record<string, string>;
    expect(Object.keys(data)).toHaveLength(100);
    for (let i = 0; i < 100; i++) expect(data[`key${i}`]).toBe(`value${i}`);
  });
});
