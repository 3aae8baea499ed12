import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

/*
 * RFC 6238 through `otpauth` (never hand-rolled): the parameters every authenticator app takes
 * by default — HMAC-SHA-1, 6 digits, 30-second steps — and a 20-byte (160-bit) key, the length
 * RFC 4226 section 4 recommends for SHA-1.
 */
const ALGORITHM = 'SHA1';
const DIGITS = 6;
const PERIOD = 30;
const SECRET_BYTES = 20;
/** One step either side: RFC 6238 section 5.2's allowance for clock drift and typing time. */
const SKEW_STEPS = 1;

/** A new random TOTP key. */
export function newTotpKey(): Uint8Array {
  return new Uint8Array(randomBytes(SECRET_BYTES));
}

// A copy with a buffer of its own: a Node Buffer may be a view into a shared pool.
const secretOf = (key: Uint8Array) => new Secret({ buffer: Uint8Array.from(key).buffer });

/** The key as base32 (RFC 4648), for typing it into an app by hand. */
export function totpKeyText(key: Uint8Array): string {
  return secretOf(key).base32;
}

/** The `otpauth://totp/…` URI an authenticator app reads from a QR code. */
export function totpUri(key: Uint8Array, issuer: string, account: string): string {
  return new TOTP({
    issuer,
    label: account,
    secret: secretOf(key),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: PERIOD,
  }).toString();
}

/** A typed code without the spaces apps show in it (`123 456`), or `null` if it is not six digits. */
export function normalizeTotpCode(input: string): string | null {
  const code = input.replace(/[\s-]/g, '');
  return /^\d{6}$/.test(code) ? code : null;
}

/**
 * The time step a code belongs to, among the current step and one either side, or `null`.
 * Callers keep the last step used and refuse any step at or below it (RFC 6238 section 5.2:
 * a code is accepted at most once).
 */
export function matchTotp(key: Uint8Array, code: string, now: number): number | null {
  const delta = TOTP.validate({
    token: code,
    secret: secretOf(key),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: PERIOD,
    timestamp: now,
    window: SKEW_STEPS,
  });
  return delta === null ? null : TOTP.counter({ period: PERIOD, timestamp: now }) + delta;
}

/**
 * The code an authenticator app shows at `now` for a key given as base32 text (what
 * `beginTotpEnrolment` returns): for tests and tools, a server never needs it.
 * @example
 * const code = totpCodeAt(enrolment.secret, Date.now());
 */
export function totpCodeAt(keyText: string, now: number): string {
  const secret = Secret.fromBase32(keyText);
  return TOTP.generate({ secret, algorithm: ALGORITHM, digits: DIGITS, period: PERIOD, timestamp: now });
}
