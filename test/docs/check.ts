// Writes snippets out as TypeScript files beside a generated tsconfig and type-checks them all
// with one run of the compiler, mapping each diagnostic back to its Markdown file and line.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Snippet, where } from './markdown.js';

/** The repository root (where package.json and node_modules are). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The repository's compiler flags. `moduleDetection: force` makes every snippet a module of its
 * own, so two snippets that both declare `store` do not collide.
 */
export const COMPILER_OPTIONS = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  moduleDetection: 'force',
  lib: ['ES2023'],
  types: ['node'],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  verbatimModuleSyntax: true,
  noImplicitOverride: true,
  noFallthroughCasesInSwitch: true,
  isolatedModules: true,
  skipLibCheck: true,
  jsx: 'react-jsx',
  jsxImportSource: 'hono/jsx',
  noEmit: true,
};

/** One generated file: a snippet, preceded by the snippets it is pasted after. */
export interface SnippetFile {
  path: string;
  snippet: Snippet;
  /** For each line of the file, where it came from. */
  origin: Array<{ doc: string; line: number }>;
}

/**
 * Writes each checked snippet to `dir` as `<doc>-<line>.mts` (`.tsx` for tsx fences). `.mts`
 * is ESM whatever the nearest package.json says, so top-level await is allowed. A snippet with
 * `after=NAME` gets the named snippet (and what that one is pasted after) in front of it.
 */
export function writeSnippetFiles(dir: string, snippets: readonly Snippet[]): SnippetFile[] {
  const byName = new Map<string, Snippet>();
  for (const s of snippets) if (s.marker.name) byName.set(`${s.doc}#${s.marker.name}`, s);
  const chain = (s: Snippet): Snippet[] => {
    if (!s.marker.after) return [s];
    const before = byName.get(`${s.doc}#${s.marker.after}`);
    if (!before) throw new Error(`${where(s)}: after=${s.marker.after} names no snippet of ${s.doc}`);
    return [...chain(before), s];
  };
  const files: SnippetFile[] = [];
  for (const snippet of snippets) {
    if (snippet.marker.fragment) continue;
    const origin: SnippetFile['origin'] = [];
    const text: string[] = [];
    for (const part of chain(snippet)) {
      part.code.split('\n').forEach((line, i) => {
        text.push(line);
        origin.push({ doc: part.doc, line: part.line + 1 + i });
      });
    }
    const ext = snippet.lang === 'tsx' ? 'tsx' : 'mts';
    const path = join(dir, `${basename(snippet.doc, '.md')}-${snippet.line}.${ext}`);
    writeFileSync(path, `${text.join('\n')}\n`);
    files.push({ path, snippet, origin });
  }
  return files;
}

export interface CheckResult {
  /** Diagnostics per generated file, each starting with its Markdown file and line. */
  byFile: Map<string, string[]>;
  /** Diagnostics in no snippet file (a declaration file, the tsconfig), and a crash of tsc. */
  other: string[];
}

const DIAGNOSTIC = /^(.+?)\((\d+),(\d+)\): (error|warning) (TS\d+): (.*)$/;

/**
 * Runs the compiler over `files` (plus `extra` paths) with a tsconfig written to `dir`. tsc
 * reports no type errors at all while any file has a syntax error, so when one does, a second
 * run checks the others without it.
 */
export async function typeCheck(
  dir: string,
  files: readonly SnippetFile[],
  extra: readonly string[] = [],
): Promise<CheckResult> {
  const first = await compile(dir, files, extra);
  const broken = new Set([...first.syntax]);
  if (broken.size === 0) return first;
  const second = await compile(
    dir,
    files.filter((f) => !broken.has(f.path)),
    extra,
  );
  for (const path of broken) second.byFile.set(path, first.byFile.get(path) ?? []);
  return { byFile: second.byFile, other: [...first.other, ...second.other] };
}

async function compile(
  dir: string,
  files: readonly SnippetFile[],
  extra: readonly string[],
): Promise<CheckResult & { syntax: Set<string> }> {
  const tsconfig = join(dir, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify(
      { compilerOptions: COMPILER_OPTIONS, files: [...files.map((f) => f.path), ...extra] },
      null,
      2,
    ),
  );
  const require = createRequire(join(ROOT, 'package.json'));
  const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  const { output, crashed } = await promisify(execFile)(
    process.execPath,
    [tsc, '-p', tsconfig, '--pretty', 'false'],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  ).then(
    (r) => ({ output: r.stdout + r.stderr, crashed: null as string | null }),
    (error: { stdout?: string; stderr?: string; code?: number; message: string }) => ({
      output: (error.stdout ?? '') + (error.stderr ?? ''),
      // Exit codes 1 and 2 mean "reported diagnostics"; anything else is the compiler failing.
      crashed: error.code === 1 || error.code === 2 ? null : error.message,
    }),
  );

  const byPath = new Map(files.map((f) => [resolve(f.path), f]));
  const byFile = new Map<string, string[]>();
  const syntax = new Set<string>();
  const other: string[] = crashed ? [`tsc failed: ${crashed}\n${output}`] : [];
  let last: string[] | null = null;
  for (const line of output.split('\n')) {
    const match = DIAGNOSTIC.exec(line);
    if (!match) {
      // A continuation line (an elaboration of the previous diagnostic).
      if (last && line.trim() !== '') last[last.length - 1] += `\n    ${line.trim()}`;
      continue;
    }
    const [, path = '', row = '0', col = '0', , code = '', message] = match;
    const file = byPath.get(resolve(ROOT, path));
    if (!file) {
      other.push(line);
      last = other;
      continue;
    }
    // TS1xxx are syntax errors.
    if (/^TS1\d{3}$/.test(code)) syntax.add(file.path);
    const from = file.origin[Number(row) - 1];
    const at = from ? `${from.doc}:${from.line}:${col}` : `${path}:${row}:${col}`;
    const pasted = from && from.line < file.snippet.line ? ` (pasted before ${where(file.snippet)})` : '';
    const list = byFile.get(file.path) ?? [];
    list.push(`${at}${pasted}: ${code} ${message}`);
    byFile.set(file.path, list);
    last = list;
  }
  return { byFile, other, syntax };
}
