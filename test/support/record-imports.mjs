// A `node --import` hook that writes the URL of every module the process loads, one a line,
// to the file named by CLOAKROOM_IMPORT_LOG: ES modules as they are resolved (on the loader
// thread), and CommonJS modules from the require cache when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

let log = '';

export function initialize(data) {
  log = data.log;
}

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(log, `${result.url}\n`);
  return result;
}

if (isMainThread && process.env.CLOAKROOM_IMPORT_LOG) {
  const file = process.env.CLOAKROOM_IMPORT_LOG;
  register(import.meta.url, { data: { log: file } });
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    const loaded = Object.keys(cache).map((path) => pathToFileURL(path).href);
    if (loaded.length > 0) appendFileSync(file, `${loaded.join('\n')}\n`);
  });
}
