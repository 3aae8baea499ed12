import type { AccountEvent } from 'cloakroom';
import { type DestinationStream, type Logger, pino } from 'pino';

/** Audit events: one JSON line each, never a token, password or cookie. */
export type AuditEvent =
  | AccountEvent
  | 'login.success'
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
  | 'admin.bootstrapped';

export type AuditFields = Record<string, string | number | boolean | null | undefined | string[]>;

/**
 * Structured JSON logs on pino. User-supplied strings are logged as JSON values, so a
 * username with CR/LF cannot forge a log line. Cookie and authorization headers are never
 * passed to the logger; the redaction list is a second line of defence.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
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
    destination,
  );
}

/** Writes one audit event at info level (warn for refusals). */
export function audit(logger: Logger, event: AuditEvent, fields: AuditFields = {}): void {
  const refusal =
    event === 'csrf.refused' ||
    event === 'lockout' ||
    event === 'login.throttled' ||
    event === 'store.unavailable';
  logger[refusal ? 'warn' : 'info']({ event, ...fields }, event);
}
