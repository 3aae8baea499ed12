import { createRequire } from 'node:module';
import { caseFold } from 'unicode-case-folding';

/** Longest username accepted, checked on the raw input before normalising (Django CVE-2023-46695). */
export const MAX_USERNAME_BYTES = 256;
/** Longest canonical username. */
export const MAX_USERNAME_LENGTH = 64;

/**
 * The canonical form of a username: Unicode NFKC, then full case folding (CaseFolding.txt status
 * C and F, as in NFKC_Casefold), NFKC again, trimmed. Applied alike at creation, sign-in, lookup
 * and throttling, so `ALICE` and the full-width `ａｌｉｃｅ` are one account and one throttle bucket,
 * and so are `ΟΔΟΣ`, `οδοσ` and `οδος` (final sigma) or `STRASSE` and `straße`: lower-casing alone
 * keeps those apart. Returns `null` for input that can never be a username (not a string, too
 * long, empty, control or invisible characters).
 * @example
 * normalizeUsername('Straße'); // 'strasse'
 */
export function normalizeUsername(input: unknown): string | null {
  if (typeof input !== 'string' || input.length > MAX_USERNAME_BYTES) return null;
  if (Buffer.byteLength(input) > MAX_USERNAME_BYTES) return null;
  // NFKC before folding and after it: folding can produce sequences that NFKC composes, and NFKC
  // can produce characters that fold (UAX #15 and the NFKC_Casefold closure in UAX #44).
  const folded = caseFold(input.normalize('NFKC')).normalize('NFKC');
  // Checked before trimming, so `alice\n` is refused rather than quietly becoming `alice`.
  // Format characters (zero-width space and joiners, bidi overrides, soft hyphen, BOM) survive
  // NFKC and are invisible: `al\u200Bice` would be a second account that displays as `alice`.
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(folded)) return null;
  const canonical = folded.trim();
  if (canonical === '' || [...canonical].length > MAX_USERNAME_LENGTH) return null;
  return canonical;
}

const ROLE = /^[a-z][a-z0-9_.:-]{0,63}$/;

/** Whether a role name is acceptable: lower-case letters, digits and `_.:-`, up to 64 characters. */
export function isValidRole(role: unknown): role is string {
  return typeof role === 'string' && ROLE.test(role);
}

/**
 * The confusable skeleton of a canonical username (Unicode TS #39, section 4): two names with the
 * same skeleton look alike, so a new user whose skeleton is taken is refused. `admin`, Cyrillic
 * `аdmin`, `ɑdmin`, `admın` and `ADMİN` all have the skeleton of `admin`; so do `adrnin` and
 * `adm\uFE0Fin`. A skeleton is a key for comparison, never a name to show.
 * @example
 * usernameSkeleton(normalizeUsername('аdmin')!) === usernameSkeleton('admin'); // true
 */
export function usernameSkeleton(canonical: string): string {
  const table = confusables();
  let mapped = '';
  for (const char of canonical.normalize('NFD').replace(DEFAULT_IGNORABLE, '')) {
    mapped += table.get(char) ?? char;
  }
  return mapped.normalize('NFD').replace(DOT_ON_SOFT_DOTTED, '');
}

// Invisible, so UTS #39's skeleton removes them before mapping: `adm\uFE0Fin` (a variation
// selector, which NFKC keeps and normalizeUsername does not refuse) collides with `admin`.
const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

// Full case folding turns `İ` into `i` + U+0307 COMBINING DOT ABOVE, and confusables.txt maps
// neither, so `ADMİN` would keep a skeleton of its own. On a Soft_Dotted letter (i, j, Cyrillic і
// and ј, …) that dot is the letter's own dot, drawn once: SpecialCasing.txt (Lithuanian) adds
// U+0307 to an i for exactly that, to keep its dot visible under an accent, and the Unicode
// Standard (§7.1, "Diacritics on i and j") describes the same. So the skeleton drops a U+0307
// that directly follows a Soft_Dotted letter. confusables.txt maps no combining mark to nothing,
// which is why this rule is stated here rather than found in the data.
const DOT_ON_SOFT_DOTTED = /(?<=\p{Soft_Dotted})\u0307/gu;

let confusableTable: Map<string, string> | undefined;

/**
 * confusables.txt as a map from one code point to its prototype, read on the first call (about
 * 6,300 entries, 100 kB of JSON) so that importing this module stays cheap. The data is the
 * `unhomoglyph` package's verbatim parse of Unicode's confusables.txt 13.0.0; no npm package
 * ships a newer one. Characters added since then map to themselves until one does. The version
 * is pinned exactly in package.json: stores keep skeletons as `usernameKey`, and a newer
 * confusables.txt changes some skeletons, so moving to one needs the keys recomputed.
 */
function confusables(): Map<string, string> {
  if (!confusableTable) {
    const data = createRequire(import.meta.url)('unhomoglyph/data.json') as Record<string, string>;
    confusableTable = new Map(Object.entries(data));
  }
  return confusableTable;
}
