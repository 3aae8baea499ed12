import { describe, expect, test } from 'vitest';
import { normalizeUsername, usernameSkeleton } from '../../packages/cloakroom/src/auth/usernames.js';

/** The skeleton of a raw username, through its canonical form, as account creation computes it. */
function skeletonOf(raw: string): string {
  const canonical = normalizeUsername(raw);
  if (canonical === null) throw new Error(`${JSON.stringify(raw)} is not a valid username`);
  return usernameSkeleton(canonical);
}

describe('look-alikes of an existing name share its skeleton (UTS #39 confusables)', () => {
  test.each([
    ['\u0430dmin', 'Cyrillic а (U+0430)'],
    ['\u0251dmin', 'Latin alpha ɑ (U+0251)'],
    ['adm\u0131n', 'dotless ı (U+0131)'],
    ['ADM\u0130N', 'capital İ (U+0130), which folds to i + U+0307'],
    ['ADMIN', 'plain upper case'],
    ['ａｄｍｉｎ', 'full-width'],
    ['adrnin', '`rn` for `m` (a two-letter confusable from the data)'],
    ['adm\uFE0Fin', 'an invisible variation selector (Default_Ignorable, dropped)'],
    ['\u0430dm\u0456n', 'Cyrillic а and і together'],
  ])('%j looks like `admin`: %s', (lookAlike) => {
    expect(skeletonOf(lookAlike)).toBe(skeletonOf('admin'));
  });

  test('`m` maps to `rn` as confusables.txt says, so `rn` spellings collide with `m` ones', () => {
    expect(skeletonOf('modern')).toBe(skeletonOf('rnodern'));
    expect(skeletonOf('m')).toBe('rn');
  });

  test('a look-alike base letter under an accent collides too: Cyrillic `ӧ` in `jӧrg` and `jörg`', () => {
    // ӧ (U+04E7) is not in confusables.txt; its NFD, о + U+0308, is: the first NFD finds it.
    expect(skeletonOf('j\u04E7rg')).toBe(skeletonOf('jörg'));
  });

  test('digits that read as letters collide: `a1ice` and `alice`', () => {
    expect(skeletonOf('a1ice')).toBe(skeletonOf('alice'));
  });

  test('İ collides with i only through the dropped dot: i + U+0307 elsewhere keeps its mark', () => {
    expect(usernameSkeleton('i\u0307')).toBe('i');
    expect(usernameSkeleton('a\u0307')).toBe('a\u0307');
  });
});

describe('names that case folding makes one have one skeleton', () => {
  test('final sigma: ΟΔΟΣ, οδοσ and ΟΔΟς', () => {
    const skeletons = new Set(['ΟΔΟΣ', 'οδοσ', 'ΟΔΟς', 'οδος'].map(skeletonOf));
    expect(skeletons.size).toBe(1);
  });

  test('ß and ss: STRASSE, straße', () => {
    expect(skeletonOf('straße')).toBe(skeletonOf('STRASSE'));
  });
});

describe('distinct real names do not collide', () => {
  test.each([
    ['alice', 'bob'],
    ['anna', 'anne'],
    ['王小明', '王小强'], // Chinese
    ['佐藤', '加藤'], // Japanese surnames
    ['さとう', 'かとう'],
    ['maria', 'mario'],
    ['jörg', 'jorg'], // a diacritic is a different letter, not a look-alike
  ])('%j and %j keep different skeletons', (a, b) => {
    expect(skeletonOf(a)).not.toBe(skeletonOf(b));
  });
});

describe('the skeleton is stable', () => {
  test.each(['admin', '\u0430dmin', 'ADM\u0130N', 'οδοσ', 'strasse', '王小明', '佐藤太郎', 'a1ice', 'jörg'])(
    '%j: skeleton(skeleton(x)) is skeleton(x)',
    (raw) => {
      const once = skeletonOf(raw);
      expect(usernameSkeleton(once)).toBe(once);
    },
  );

  test('a skeleton is in NFD even where a prototype is precomposed (ҋ maps to й + U+0326)', () => {
    for (const raw of ['\u048B', '\u2251', 'admin', 'jörg']) {
      const skeleton = skeletonOf(raw);
      expect(skeleton, raw).toBe(skeleton.normalize('NFD'));
    }
  });

  test('the same name always gives the same skeleton (the table is loaded once)', () => {
    expect(skeletonOf('\u0430dmin')).toBe(skeletonOf('\u0430dmin'));
  });
});
