/** The audit events the account actions write (one JSON line each in the server and the CLI). */
export type AccountEvent =
  | 'admin.bootstrapped'
  | 'user.created'
  | 'password.changed'
  | 'password.reset'
  | 'profile.updated'
  | 'role.changed'
  | 'user.locked'
  | 'user.unlocked'
  | 'session.revoked'
  | 'sessions.revoked'
  | 'login.failure'
  | 'lockout'
  | 'login.second-factor'
  | 'second-factor.failure'
  | 'second-factor.enabled'
  | 'second-factor.disabled'
  | 'second-factor.reset'
  | 'second-factors.resealed'
  | 'recovery-codes.regenerated'
  | 'reauthenticated'
  | 'recovery-link.issued'
  | 'recovery-link.used'
  | 'login.passkey'
  | 'passkey.registered'
  | 'passkey.renamed'
  | 'passkey.removed'
  | 'passkey.failure'
  | 'passkey.clone-suspected';

/** Fields of an audit event: ids, counts, role names. Never a password, token, cookie, code or secret. */
export type AuditFields = Record<string, string | number | boolean | null | string[]>;

/**
 * Where account actions write their audit events: the server's logger, the CLI's log output,
 * or a test's array. Called only on a real transition (a lock of a locked user writes nothing).
 */
export type AuditSink = (event: AccountEvent, fields: AuditFields) => void;

/** Who asked for an account action: an admin's user id, or `'cli'` for the command line. */
export type Actor = string;
