// Finds the TypeScript snippets of a Markdown file and the marker that tells the checker what to
// do with each. A marker is an HTML comment (invisible on GitHub) on the last non-blank line
// before the fence:
//
//   <!-- snippet: fragment -->              not checked: it cannot stand alone (keep these few)
//   <!-- snippet: name=setup -->            checked; other snippets of the same file may build on it
//   <!-- snippet: after=setup -->           checked as `setup` followed by this snippet (one file,
//                                           as a reader pastes them)
//   <!-- snippet: run=json-api -->          checked, then started as a server and driven through
//                                           the scenario `json-api` (test/docs/scenarios.ts)
//
// Tokens combine (`run=json-api after=setup`). A snippet without a marker is checked.

/** Fence info strings the checker takes as TypeScript. */
const TYPESCRIPT = new Set(['ts', 'typescript', 'tsx']);

export interface Marker {
  fragment: boolean;
  /** The scenario to run the snippet through, or `null`. */
  run: string | null;
  /** The name other snippets of this file use in `after=`. */
  name: string | null;
  /** The snippet of this file that goes before this one. */
  after: string | null;
}

export interface Snippet {
  /** The Markdown file, relative to the repository (`docs/adapters.md`). */
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  /** The code, without the fence's indentation. */
  code: string;
  marker: Marker;
}

/** Where a snippet is, for messages: `docs/adapters.md:97`. */
export const where = (snippet: Pick<Snippet, 'doc' | 'line'>): string => `${snippet.doc}:${snippet.line}`;

const MARKER = /^\s*<!--\s*snippet:(.*?)-->\s*$/;
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;

function parseMarker(text: string, at: string): Marker {
  const marker: Marker = { fragment: false, run: null, name: null, after: null };
  for (const token of text.trim().split(/\s+/).filter(Boolean)) {
    const [key, value] = token.split('=', 2) as [string, string | undefined];
    if (key === 'fragment' && value === undefined) marker.fragment = true;
    else if ((key === 'run' || key === 'name' || key === 'after') && value) marker[key] = value;
    else throw new Error(`${at}: unknown snippet marker token "${token}"`);
  }
  if (marker.fragment && (marker.run || marker.name || marker.after)) {
    throw new Error(`${at}: a fragment is not checked, so it cannot be run, named or built on`);
  }
  return marker;
}

/**
 * The TypeScript snippets of one Markdown text. Throws (naming file and line) on a marker that is
 * not understood, a marker not followed by a fence, an unclosed fence, or an `after=` naming no
 * earlier snippet, so a typo cannot silently turn a check off.
 */
export function extractSnippets(doc: string, markdown: string): Snippet[] {
  const lines = markdown.split(/\r?\n/);
  const snippets: Snippet[] = [];
  const named = new Set<string>();
  let pending: { marker: Marker; line: number } | null = null;

  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const markerMatch = MARKER.exec(text);
    if (markerMatch) {
      if (pending) throw new Error(`${doc}:${pending.line}: snippet marker not followed by a fence`);
      pending = { marker: parseMarker(markerMatch[1]!, `${doc}:${i + 1}`), line: i + 1 };
      continue;
    }
    const fence = FENCE.exec(text);
    if (!fence) {
      if (pending && text.trim() !== '') {
        throw new Error(`${doc}:${pending.line}: snippet marker not followed by a fence`);
      }
      continue;
    }
    const [, indent = '', ticks = '', info = ''] = fence;
    const start = i;
    const body: string[] = [];
    const close = new RegExp(`^\\s*${ticks[0] === '`' ? '`' : '~'}{${ticks.length},}\\s*$`);
    for (i++; i < lines.length && !close.test(lines[i]!); i++) {
      const line = lines[i]!;
      // Remove the fence's own indentation (a fence inside a list item), no more.
      let cut = 0;
      while (cut < indent.length && line[cut] === ' ') cut++;
      body.push(line.slice(cut));
    }
    if (i >= lines.length) throw new Error(`${doc}:${start + 1}: fence is never closed`);
    const lang = info.toLowerCase();
    const marker = pending?.marker ?? { fragment: false, run: null, name: null, after: null };
    if (pending && !TYPESCRIPT.has(lang)) {
      throw new Error(`${doc}:${pending.line}: snippet marker before a \`${lang || 'plain'}\` fence`);
    }
    pending = null;
    if (!TYPESCRIPT.has(lang)) continue;
    if (marker.after && !named.has(marker.after)) {
      throw new Error(`${doc}:${start + 1}: after=${marker.after} names no earlier snippet of ${doc}`);
    }
    if (marker.name) {
      if (named.has(marker.name))
        throw new Error(`${doc}:${start + 1}: a second snippet named ${marker.name}`);
      named.add(marker.name);
    }
    snippets.push({ doc, line: start + 1, lang, code: body.join('\n'), marker });
  }
  if (pending) throw new Error(`${doc}:${pending.line}: snippet marker not followed by a fence`);
  return snippets;
}
