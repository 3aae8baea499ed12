// The docs run: every TypeScript snippet of README.md and docs/*.md is type-checked (strict, the
// repository's flags) against the package as users import it (`cloakroom`, `cloakroom/hono`, …,
// resolved by name), and every snippet marked `<!-- snippet: run=NAME -->` is started as a real
// server and driven over HTTP (test/docs/scenarios.ts). Markers: test/docs/markdown.ts.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type CheckResult, ROOT, type SnippetFile, typeCheck, writeSnippetFiles } from './check.js';
import { Client } from './http.js';
import { extractSnippets, type Snippet, where } from './markdown.js';
import { type RunningApp, startSnippet, writeSeedScript } from './run.js';
import { SCENARIOS } from './scenarios.js';

/** More than this many fragments and the docs are drifting away from code that runs. */
const MAX_FRAGMENTS = 8;

const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];

const markerErrors: string[] = [];
const snippets: Snippet[] = DOCS.flatMap((doc) => {
  try {
    return extractSnippets(doc, readFileSync(join(ROOT, doc), 'utf8'));
  } catch (error) {
    markerErrors.push(error instanceof Error ? error.message : String(error));
    return [];
  }
});

// The checker checks itself: an unmarked snippet that does not compile must be reported (at its
// line), a fragment must be skipped, and `after=` must paste the named snippet in front.
const SELF_TEST = [
  '# self-test',
  '',
  '```ts',
  "const broken: number = 'not a number';",
  '```',
  '',
  '<!-- snippet: fragment -->',
  '```ts',
  "const skipped: number = 'not checked';",
  '```',
  '',
  '<!-- snippet: name=base -->',
  '```typescript',
  'export const base = 1;',
  '```',
  '',
  '<!-- snippet: after=base -->',
  '```ts',
  'const sum: number = base + 1;',
  '```',
].join('\n');
const selfTest = extractSnippets('self-test.md', SELF_TEST);

// Generated files go inside the repository, so `cloakroom` resolves by name from them: today
// through the root package's self-reference, in a workspace through node_modules/cloakroom.
// (Not under node_modules/: Node does not self-reference a package from inside node_modules.)
const BASE = join(ROOT, 'test/docs/.snippets');
mkdirSync(BASE, { recursive: true });
writeFileSync(join(BASE, '.gitignore'), '*\n');
const DIR = join(BASE, `run-${process.pid}-${Date.now()}`);
mkdirSync(DIR);
const files: SnippetFile[] = writeSnippetFiles(DIR, snippets);
const selfTestFiles: SnippetFile[] = writeSnippetFiles(DIR, selfTest);
const seedScript = writeSeedScript(DIR);

afterAll(() => {
  rmSync(DIR, { recursive: true, force: true });
});

test('every snippet marker is understood and followed by a TypeScript fence', () => {
  expect(markerErrors, markerErrors.join('\n')).toEqual([]);
});

test(`fragments (not checked) stay few: at most ${MAX_FRAGMENTS}`, () => {
  const fragments = snippets.filter((s) => s.marker.fragment).map(where);
  expect(fragments.length, `fragments:\n${fragments.join('\n')}`).toBeLessThanOrEqual(MAX_FRAGMENTS);
});

describe('type-check', () => {
  let result: CheckResult;

  beforeAll(async () => {
    result = await typeCheck(DIR, [...files, ...selfTestFiles], [seedScript]);
  }, 120_000);

  test.each(files.map((file) => [where(file.snippet), file] as const))('%s compiles', (_name, file) => {
    const diagnostics = result.byFile.get(file.path) ?? [];
    expect(diagnostics, `${where(file.snippet)} does not compile:\n${diagnostics.join('\n')}`).toEqual([]);
  });

  test('nothing outside the snippets fails (declaration files, the seed script, tsc itself)', () => {
    expect(result.other, result.other.join('\n')).toEqual([]);
  });

  test('the checker reports an unmarked snippet that does not compile, at its line, and skips fragments', () => {
    expect(selfTest.map((s) => s.marker.fragment)).toEqual([false, true, false, false]);
    expect(selfTestFiles.map((f) => where(f.snippet))).toEqual([
      'self-test.md:3',
      'self-test.md:13',
      'self-test.md:18',
    ]);
    const [broken, base, after] = selfTestFiles.map((f) => result.byFile.get(f.path) ?? []);
    expect(broken).toHaveLength(1);
    expect(broken?.[0]).toMatch(/^self-test\.md:4:7: TS2322 /);
    expect(base).toEqual([]);
    expect(after).toEqual([]);
  });
});

const runnable = files.filter((file) => file.snippet.marker.run !== null);

test('every runnable snippet has a scenario, and every scenario a snippet', () => {
  const names = runnable.map((file) => file.snippet.marker.run ?? '');
  const missing = runnable
    .filter((file) => !SCENARIOS[file.snippet.marker.run ?? ''])
    .map((f) => where(f.snippet));
  expect(missing, `no scenario in test/docs/scenarios.ts for: ${missing.join(', ')}`).toEqual([]);
  const unused = Object.keys(SCENARIOS).filter((name) => !names.includes(name));
  expect(unused, `scenarios no snippet runs: ${unused.join(', ')}`).toEqual([]);
});

describe.each(
  runnable.map((file) => [`${where(file.snippet)} (run=${file.snippet.marker.run})`, file] as const),
)('%s', (_name, file) => {
  const scenario = SCENARIOS[file.snippet.marker.run ?? ''];
  let app: RunningApp | undefined;

  beforeAll(async () => {
    if (scenario) app = await startSnippet(file, scenario, seedScript);
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
  });

  test('answers over HTTP as its doc says', async () => {
    if (!scenario || !app) throw new Error(`${where(file.snippet)}: not started`);
    try {
      await scenario.run(new Client(app.url, where(file.snippet)), { setCookie: app.setCookie });
    } catch (error) {
      if (error instanceof Error) error.message += `\n--- output of ${where(file.snippet)}:\n${app.output()}`;
      throw error;
    }
  }, 60_000);
});
