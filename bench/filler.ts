import { randomBytes } from 'node:crypto';
import { newCsrfSecret } from '../packages/cloakroom/src/core/csrf.js';
import { nodeCrypto } from '../packages/cloakroom/src/core/node-crypto.js';
import type { JsonValue, SessionRecord } from '../packages/cloakroom/src/core/store.js';

/**
 * A session of some other (made-up) user, as the benches put tens of thousands of them in a
 * store before measuring: a fresh random token's store key, the default 30-minute idle and
 * 12-hour absolute deadlines from `now`, a fresh CSRF secret.
 */
export function fillerSession(
  userId: string,
  now: number,
  extra: { ip?: string; userAgent?: string; data?: Record<string, JsonValue> } = {},
): SessionRecord {
  return {
    id: nodeCrypto.sha256Base64url(randomBytes(32).toString('base64url')),
    userId,
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: now + 30 * 60_000,
    absoluteExpiresAt: now + 12 * 3_600_000,
    idleTimeoutMs: 30 * 60_000,
    remember: false,
    epoch: 0,
    authenticatedAt: now,
    methods: ['pwd'],
    csrfSecret: newCsrfSecret(nodeCrypto),
    ip: extra.ip ?? '203.0.113.7',
    userAgent: extra.userAgent ?? 'Mozilla/5.0 (X11; Linux x86_64)',
    binding: null,
    data: extra.data ?? {},
  };
}
