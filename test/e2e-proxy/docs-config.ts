import { readFileSync } from 'node:fs';

const DOC = new URL('../../docs/forward-auth.md', import.meta.url);

/**
 * A configuration block of docs/forward-auth.md, exactly as printed there: the first ```LANG
 * block after the `<!-- tested: TEST_FILE` marker. The tests run what the documentation tells
 * people to copy, so the two cannot drift apart.
 */
export function documentedBlock(testFile: string, lang: string): string {
  const marker = `<!-- tested: ${testFile}`;
  const text = readFileSync(DOC, 'utf8');
  const start = text.indexOf(marker);
  if (start === -1) throw new Error(`docs/forward-auth.md lost its tested block marker (${marker} …)`);
  const fence = `\`\`\`${lang}\n`;
  const open = text.indexOf(fence, start);
  const close = text.indexOf('\n```', open + 1);
  if (open === -1 || close === -1)
    throw new Error(`docs/forward-auth.md: no ${fence.trim()} block after ${marker}`);
  return text.slice(open + fence.length, close + 1);
}

/** The nginx block of docs/forward-auth.md (the contents of an `http { }` block). */
export function documentedNginxConfig(): string {
  return documentedBlock('test/e2e-proxy/nginx.test.ts', 'nginx');
}

/** Replaces `from` by `to`, insisting that `from` occurs exactly once (the doc changed otherwise). */
export function replaceOnce(text: string, from: string, to: string): string {
  const first = text.indexOf(from);
  if (first === -1 || text.indexOf(from, first + 1) !== -1) {
    throw new Error(`expected exactly one ${JSON.stringify(from)} in the documented nginx config`);
  }
  return text.replace(from, to);
}
