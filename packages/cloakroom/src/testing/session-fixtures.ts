import { randomBytes } from 'node:crypto';
import type { SessionBinding, SessionRecord } from '../core/store.js';

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
    // Unbound, as every session is until a browser registers a device key.
    binding: null,
    data: {},
    ...overrides,
  };
}

/**
 * A device binding (DBSC) with every member set, to a made-up public key: an EC P-256 key by
 * default, or an RSA one. Random key material and ids, so two calls never give equal bindings.
 */
export function sessionBinding(
  kty: 'EC' | 'RSA' = 'EC',
  overrides: Partial<SessionBinding> = {},
): SessionBinding {
  const now = Date.now();
  return {
    id: randomId(),
    ...(kty === 'EC'
      ? {
          alg: 'ES256',
          jwk: { kty: 'EC', crv: 'P-256', x: randomId(), y: randomId() },
        }
      : {
          alg: 'RS256',
          jwk: { kty: 'RSA', n: randomBytes(256).toString('base64url'), e: 'AQAB' },
        }),
    boundAt: now,
    // Not boundAt: a store that mixed the two up would show.
    refreshedAt: now + 1_234,
    challenge: randomId(),
    challengeExpiresAt: now + 5 * MINUTE,
    ...overrides,
  };
}
