import { randomBytes } from 'node:crypto';
import type { SessionRecord } from '../core/store.js';

/** One minute in ms. */
export const MINUTE = 60_000;
/** One hour in ms. */
export const HOUR = 60 * MINUTE;

const randomId = (): string => randomBytes(32).toString('base64url');

/**
 * A valid record that is live by the real clock (stores refuse to touch or change a record
 * that is expired by their own clock, the system clock in these suites), with every field set
 * to a non-default value.
 */
export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    id: randomId(),
    userId: 'user-ada',
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: now + 30 * MINUTE,
    absoluteExpiresAt: now + 12 * HOUR,
    idleTimeoutMs: 30 * MINUTE,
    remember: false,
    epoch: 7,
    // A re-authentication after the sign-in: a store that wrote createdAt (or lastSeenAt) for
    // it would show.
    authenticatedAt: (overrides.createdAt ?? now) + 1_234,
    // Not in sorted order: a store that sorted them would show.
    methods: ['pwd', 'otp'],
    csrfSecret: randomId(),
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0 (conformance suite)',
    data: {},
    ...overrides,
  };
}
