/**
 * The log for a person at a terminal (`LOG_FORMAT=pretty`, or stdout is a terminal): the same
 * pino events as the JSON log, each rendered as text. Start-up reads as a short block (the URL
 * to open, where the data lives, the set-up link on a line of its own); every other event is
 * one short line: time, event (or message), then its fields as `key=value`.
 *
 * Whatever a client can choose (a username, a path) is shown with its control characters
 * escaped, so it cannot forge a line here either.
 */

/** Where rendered text goes: `process.stdout`, or a test's collector. */
export interface TextSink {
  write(text: string): unknown;
}

/** One store's place, as the `listening` event carries it (never a password). */
export interface StoreTarget {
  store: 'sqlite' | 'postgres' | 'redis';
  at: string;
}

type Line = Record<string, unknown>;

const STORE_NAMES: Record<StoreTarget['store'], string> = {
  sqlite: 'SQLite',
  postgres: 'PostgreSQL',
  redis: 'Redis',
};

/** Fields every line has, or that a line shows in another way. */
const HIDDEN = new Set(['level', 'time', 'service', 'event', 'msg', 'err', 'pid', 'hostname']);

interface Paint {
  bold(text: string): string;
  dim(text: string): string;
  level(level: string, text: string): string;
  status(status: number, text: string): string;
}

const plain: Paint = {
  bold: (t) => t,
  dim: (t) => t,
  level: (_l, t) => t,
  status: (_s, t) => t,
};

const sgr = (code: string, text: string) => `\x1b[${code}m${text}\x1b[0m`;
const ansi: Paint = {
  bold: (t) => sgr('1', t),
  dim: (t) => sgr('2', t),
  level: (level, t) =>
    level === 'warn' ? sgr('33', t) : level === 'error' || level === 'fatal' ? sgr('31', t) : t,
  status: (status, t) => (status >= 500 ? sgr('31', t) : status >= 400 ? sgr('33', t) : sgr('32', t)),
};

/**
 * A pino destination that renders each JSON line for a person and writes it to `out`.
 * `color`: ANSI bold/dim/colours (only for a terminal; never inside a link's line).
 */
export function humanStream(out: TextSink, color: boolean): { write(chunk: string): void } {
  const paint = color ? ansi : plain;
  return {
    write(chunk) {
      for (const raw of chunk.split('\n')) {
        if (raw.trim() === '') continue;
        let line: Line;
        try {
          line = JSON.parse(raw) as Line;
        } catch {
          out.write(`${escapeControls(raw)}\n`);
          continue;
        }
        out.write(renderLine(line, paint));
      }
    },
  };
}

/** One event as text for a person, ending in a newline (exported for tests). */
export function renderLine(line: Line, paint: Paint = plain): string {
  switch (line.event) {
    case 'listening':
      return renderListening(line, paint);
    case 'setup.needed':
      return renderSetup(line, paint);
    case 'request':
      return renderRequest(line, paint);
    case 'shutdown':
      // On its own line after the terminal's `^C`; the message already names the signal.
      return `\n${renderEvent({ ...line, signal: undefined }, paint)}`;
    default:
      return renderEvent(line, paint);
  }
}

/** `http://0.0.0.0:3000` is no address to open in a browser: `localhost` is. */
export function browsable(url: string): string {
  return url.replace(/^http:\/\/(0\.0\.0\.0|\[::\])(?=[:/]|$)/, 'http://localhost');
}

function renderListening(line: Line, paint: Paint): string {
  const url = String(line.url ?? '');
  const open = browsable(url);
  const rows: Array<[string, string]> = [['Open', open === url ? open : `${open}  (listening on ${url})`]];
  const storage = line.storage as { users?: StoreTarget; sessions?: StoreTarget } | undefined;
  const { users, sessions } = storage ?? {};
  if (users && sessions && users.store === sessions.store && users.at === sessions.at) {
    rows.push(['Data', `${users.at}  (${STORE_NAMES[users.store]}: users and sessions)`]);
  } else {
    if (users) rows.push(['Users', `${users.at}  (${STORE_NAMES[users.store]})`]);
    if (sessions) rows.push(['Sessions', `${sessions.at}  (${STORE_NAMES[sessions.store]})`]);
  }
  const body = rows.map(([key, value]) => `  ${paint.dim(key.padEnd(9))} ${escapeControls(value)}`);
  return [
    '',
    `  ${paint.bold('cloakroom is running')}`,
    '',
    ...body,
    '',
    `  ${paint.dim('Requests are logged one line each. Ctrl+C stops the server.')}`,
    '',
    '',
  ].join('\n');
}

function renderSetup(line: Line, paint: Paint): string {
  const link = browsable(String(line.setupUrl ?? ''));
  return [
    `  ${paint.level('warn', paint.bold('No user exists yet.'))} To create the first administrator, open this link`,
    '  within an hour (it works once):',
    '',
    // Alone on its line and unpainted: a terminal makes it clickable, a triple-click copies it.
    `  ${escapeControls(link)}`,
    '',
    `  ${paint.dim('Or from a shell: npx cloakroom user add NAME --role admin')}`,
    '',
    '',
  ].join('\n');
}

function renderRequest(line: Line, paint: Paint): string {
  const status = Number(line.status);
  const method = escapeControls(String(line.method ?? '')).padEnd(6);
  const path = escapeControls(String(line.path ?? ''));
  const ms = typeof line.ms === 'number' ? paint.dim(` ${line.ms} ms`) : '';
  return `${paint.dim(clock(line.time))} ${method} ${path} ${paint.status(status, String(status))}${ms}\n`;
}

function renderEvent(line: Line, paint: Paint): string {
  const level = String(line.level ?? 'info');
  const event = typeof line.event === 'string' ? line.event : '';
  const msg = typeof line.msg === 'string' ? line.msg : '';
  // An audit event's message is its name; a life-cycle event's message is a sentence.
  const title = event && (msg === event || msg === '') ? event : msg || event;
  const tag = level === 'info' ? '' : `${paint.level(level, level.toUpperCase())} `;
  const fields = Object.entries(line)
    .filter(([key, value]) => !HIDDEN.has(key) && value !== undefined)
    .map(([key, value]) => `${paint.dim(`${key}=`)}${fieldValue(value)}`);
  let text = `${paint.dim(clock(line.time))} ${tag}${escapeControls(title)}`;
  if (fields.length > 0) text += ` ${fields.join(' ')}`;
  const err = line.err as { message?: unknown; stack?: unknown } | undefined;
  if (err && typeof err === 'object') {
    const detail = typeof err.stack === 'string' ? err.stack : String(err.message ?? '');
    text += `\n${detail
      .split('\n')
      .map((l) => `    ${paint.dim(escapeControls(l))}`)
      .join('\n')}`;
  }
  return `${text}\n`;
}

/** `14:03:07` in local time, from pino's ISO time. */
function clock(time: unknown): string {
  const date = new Date(typeof time === 'string' || typeof time === 'number' ? time : Date.now());
  if (Number.isNaN(date.getTime())) return '--:--:--';
  return [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
}

/** A field's value: bare when it is a plain word, number or boolean; JSON otherwise. */
function fieldValue(value: unknown): string {
  if (typeof value === 'string' && /^[\w.:/@+,-]+$/.test(value)) return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return escapeControls(JSON.stringify(value) ?? String(value));
}

/** Control characters (CR, LF, ESC, …) as `\u…` escapes: one event, one line, no terminal codes. */
function escapeControls(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: exactly the characters to escape
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => {
    return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
