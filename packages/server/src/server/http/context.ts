import {
  type AccountDeps,
  type Clock,
  type CounterStore,
  type Session,
  type SessionInfo,
  type Sessions,
  secondFactorStatus,
  type Throttle,
  type UserRecord,
  type UserStore,
} from 'cloakroom';
import type { CloakroomEnv, HonoAuth } from 'cloakroom/hono';
import type { PasswordHasher } from 'cloakroom/passwords';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { ServerConfig } from '../boot/config.js';
import type { Metrics } from './metrics.js';

/** Everything a route needs, built once at start-up. */
export interface ServerDeps {
  config: ServerConfig;
  sessions: Sessions;
  users: UserStore;
  counters: CounterStore;
  passwords: PasswordHasher;
  throttle: Throttle;
  /** The account actions' dependencies (their audit events go to `logger`). */
  account: AccountDeps;
  auth: HonoAuth;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** Which stores are in use, e.g. `sessions=redis users=postgres`. */
  storeDescription: string;
  /** Resolves when every store answers (readiness). */
  ping(): Promise<void>;
  /** Closes the stores. */
  close(): Promise<void>;
}

export type App = Hono<CloakroomEnv>;

/*
 * ISO-8601 text of a time, remembered: `toISOString` costs ~0.6 µs and `GET /api/session`
 * formats four times per request, though a session's created and absolute times never change
 * and the other two change at most once per touch interval. Cleared when full, so it is bounded.
 */
const ISO_CACHE_MAX = 4096;
const isoCache = new Map<number, string>();
function iso(ms: number): string {
  let text = isoCache.get(ms);
  if (text === undefined) {
    if (isoCache.size >= ISO_CACHE_MAX) isoCache.clear();
    text = new Date(ms).toISOString();
    isoCache.set(ms, text);
  }
  return text;
}

/** The `session` object of the API. */
export function sessionJson(session: Session) {
  return {
    id: session.id,
    createdAt: iso(session.createdAt),
    lastSeenAt: iso(session.lastSeenAt),
    idleExpiresAt: iso(session.idleExpiresAt),
    absoluteExpiresAt: iso(session.absoluteExpiresAt),
    bound: session.bound,
  };
}

/** One entry of `GET /api/sessions`. */
export function sessionInfoJson(info: SessionInfo) {
  return {
    id: info.id,
    current: info.current,
    createdAt: iso(info.createdAt),
    lastSeenAt: iso(info.lastSeenAt),
    bound: info.bound,
    ip: info.ip,
    userAgent: info.userAgent,
  };
}

/**
 * A user as admins see it: status and times too, never the hash or any second-factor secret.
 * `secondFactor` is any factor (TOTP or a passkey), as in the user object; `passkeys` how many.
 */
export function adminUserJson(user: UserRecord) {
  const status = secondFactorStatus(user);
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    roles: [...user.roles],
    locked: user.locked,
    secondFactor: status.enabled || status.passkeys > 0,
    passkeys: status.passkeys,
    createdAt: iso(user.createdAt),
    updatedAt: iso(user.updatedAt),
  };
}
