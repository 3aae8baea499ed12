import type { AccountEvent } from 'cloakroom';
import { type DestinationStream, type Logger, pino } from 'pino';
import { humanStream, type TextSink } from './human-log.js';
import { LOG_FORMATS, type LogFormat, resolveLogFormat } from './log-format.js';

export { LOG_FORMATS, type LogFormat, type LogFormatSetting, resolveLogFormat } from './log-format.js';

/** Audit events: one JSON line each, never a token, password or cookie. */
export type AuditEvent =
  | AccountEvent
  | 'login.success'
  | 'login.second-factor-required'
  | 'login.failure'
  | 'login.throttled'
  | 'lockout'
  | 'logout'
  | 'session.revoked'
  | 'sessions.revoked'
  | 'password.changed'
  | 'password.rehashed'
  | 'csrf.refused'
  | 'role.changed'
  | 'user.created'
  | 'user.locked'
  | 'user.unlocked'
  | 'profile.updated'
  | 'forward-auth.denied'
  | 'store.unavailable'
  | 'admin.bootstrapped'
  | 'dbsc.registered'
  | 'dbsc.refreshed'
  | 'dbsc.refused';

export type AuditFields = Record<string, string | number | boolean | null | undefined | string[]>;

/** Loggers whose lines a person reads: they also get one line per request (see app.ts). */
const forPeople = new WeakSet<Logger>();

/** Whether `logger` writes for a person (`pretty`), so request lines are worth writing. */
export function logsForPeople(logger: Logger): boolean {
  return forPeople.has(logger);
}

/**
 * Logs on pino. `json` (what log collectors read): one JSON object per line. `pretty`: the same
 * events rendered for a person at a terminal (human-log.ts), in colour when `destination` is a
 * terminal and `NO_COLOR` is unset.
 *
 * Without `format`: `LOG_FORMAT` from the environment (`auto` when unset) when writing to
 * stdout, `json` when writing to a given `destination`.
 *
 * User-supplied strings are logged as JSON values, so a username with CR/LF cannot forge a log
 * line. Cookie and authorization headers are never passed to the logger; the redaction list is
 * a second line of defence.
 */
export function createLogger(level: string, destination?: DestinationStream, format?: LogFormat): Logger {
  const chosen =
    format ??
    (destination
      ? 'json'
      : resolveLogFormat(
          LOG_FORMATS[(process.env.LOG_FORMAT ?? '').trim().toLowerCase()] ?? 'auto',
          isTerminal(process.stdout),
        ));
  const sink: TextSink = destination ?? process.stdout;
  const stream =
    chosen === 'pretty'
      ? humanStream(sink, isTerminal(sink) && !process.env.NO_COLOR && process.env.TERM !== 'dumb')
      : destination;
  const logger = pino(
    {
      level,
      base: { service: 'cloakroom' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'password',
          'currentPassword',
          'newPassword',
          'token',
          'cookie',
          '*.cookie',
          '*.authorization',
          'secret',
          'secrets',
        ],
        censor: '[redacted]',
      },
    },
    stream,
  );
  if (chosen === 'pretty') forPeople.add(logger);
  return logger;
}

function isTerminal(sink: unknown): boolean {
  return (sink as { isTTY?: boolean }).isTTY === true;
}

/** Writes one audit event at info level (warn for refusals). */
export function audit(logger: Logger, event: AuditEvent, fields: AuditFields = {}): void {
  const refusal =
    event === 'csrf.refused' ||
    event === 'lockout' ||
    event === 'login.throttled' ||
    event === 'second-factor.failure' ||
    event === 'dbsc.refused' ||
    event === 'store.unavailable';
  logger[refusal ? 'warn' : 'info']({ event, ...fields }, event);
}
