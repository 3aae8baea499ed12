import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { BindingKey, SessionBinding } from './store.js';

/*
 * The DBSC proof: a compact JWS the browser signs with its device key (`Secure-Session-Response`).
 * Only what the draft allows is accepted: `typ` `dbsc+jwt`, `alg` ES256 or RS256 (never `none`,
 * never an HMAC), a public key of the matching kind. Verification is node:crypto's; nothing here
 * does arithmetic on keys or signatures.
 */

/** Algorithms a device may sign with. */
export type BindingAlgorithm = SessionBinding['alg'];

/** Longest proof read: an RS256 proof with a 4096-bit key in its header is under 2 KiB. */
const MAX_PROOF_LENGTH = 8192;
/** Smallest and largest RSA modulus accepted (NIST SP 800-131A: at least 2048 bits). */
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;
const B64URL = /^[A-Za-z0-9_-]*$/;

/** A proof whose signature has not been checked yet. */
export interface Proof {
  alg: BindingAlgorithm;
  /** The key the header (or, from older browsers, the payload's `key` claim) carries. */
  jwk: BindingKey | null;
  jti: string;
  /** `aud`, when the browser sent one: the URL the proof was made for. */
  aud: string | null;
  /** `iat` in seconds, when the browser sent one. */
  iat: number | null;
  signingInput: string;
  signature: Buffer;
}

/** Why a proof was refused before its signature could be checked. */
export type ProofRefusal = 'malformed-proof' | 'algorithm' | 'bad-key';

/** Parses a compact JWS; `null` fields are absent claims. Checks shape only, not the signature. */
export function parseProof(text: string, allowed: readonly BindingAlgorithm[]): Proof | ProofRefusal {
  if (text.length > MAX_PROOF_LENGTH) return 'malformed-proof';
  const parts = text.split('.');
  if (parts.length !== 3) return 'malformed-proof';
  const [head, body, sig] = parts as [string, string, string];
  if (!B64URL.test(head) || !B64URL.test(body) || !B64URL.test(sig) || sig === '') return 'malformed-proof';
  const header = jsonObject(head);
  const payload = jsonObject(body);
  if (!header || !payload) return 'malformed-proof';
  if (header.typ !== 'dbsc+jwt') return 'malformed-proof';
  const alg = header.alg;
  if (typeof alg !== 'string' || !allowed.includes(alg as BindingAlgorithm)) return 'algorithm';
  if (typeof payload.jti !== 'string' || payload.jti === '') return 'malformed-proof';
  if (payload.aud !== undefined && typeof payload.aud !== 'string') return 'malformed-proof';
  if (payload.iat !== undefined && !(typeof payload.iat === 'number' && Number.isFinite(payload.iat)))
    return 'malformed-proof';
  // The draft puts the key in the header; builds from before it put it in the payload as `key`.
  const rawKey = header.jwk ?? payload.key;
  let jwk: BindingKey | null = null;
  if (rawKey !== undefined) {
    jwk = publicKeyOf(rawKey, alg as BindingAlgorithm);
    if (!jwk) return 'bad-key';
  }
  return {
    alg: alg as BindingAlgorithm,
    jwk,
    jti: payload.jti,
    aud: typeof payload.aud === 'string' ? payload.aud : null,
    iat: typeof payload.iat === 'number' ? payload.iat : null,
    signingInput: `${head}.${body}`,
    signature: Buffer.from(sig, 'base64url'),
  };
}

/** Whether `proof` is signed by `jwk` with `alg`. Never throws. */
export function verifyProof(proof: Proof, jwk: BindingKey, alg: BindingAlgorithm): boolean {
  if (proof.alg !== alg) return false;
  const key = keyObject(jwk, alg);
  if (!key) return false;
  try {
    const data = Buffer.from(proof.signingInput);
    if (alg === 'ES256') {
      // JWS (RFC 7518 §3.4): R || S, 32 bytes each, not DER.
      if (proof.signature.length !== 64) return false;
      return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, proof.signature);
    }
    return verify('sha256', data, key, proof.signature);
  } catch {
    return false;
  }
}

/** The public members of a JWK fit for `alg`, or `null` (private members, wrong kind, weak key). */
function publicKeyOf(raw: unknown, alg: BindingAlgorithm): BindingKey | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const k = raw as Record<string, unknown>;
  // A key with private members was never meant to leave the device: refuse it rather than strip it.
  if ('d' in k || 'p' in k || 'q' in k) return null;
  let jwk: BindingKey;
  if (alg === 'ES256') {
    if (k.kty !== 'EC' || k.crv !== 'P-256' || !isB64(k.x, 43) || !isB64(k.y, 43)) return null;
    jwk = { kty: 'EC', crv: 'P-256', x: k.x as string, y: k.y as string };
  } else {
    if (k.kty !== 'RSA' || !isB64(k.n) || !isB64(k.e)) return null;
    jwk = { kty: 'RSA', n: k.n as string, e: k.e as string };
  }
  return keyObject(jwk, alg) ? jwk : null;
}

/** node:crypto's key for a JWK, after the checks the curve and modulus need; `null` if refused. */
function keyObject(jwk: BindingKey, alg: BindingAlgorithm): KeyObject | null {
  try {
    // createPublicKey refuses an EC point that is not on the curve.
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    const details = key.asymmetricKeyDetails;
    if (alg === 'ES256')
      return key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1' ? key : null;
    const bits = details?.modulusLength ?? 0;
    return key.asymmetricKeyType === 'rsa' && bits >= MIN_RSA_BITS && bits <= MAX_RSA_BITS ? key : null;
  } catch {
    return null;
  }
}

function isB64(value: unknown, length?: number): boolean {
  return (
    typeof value === 'string' &&
    value !== '' &&
    value.length <= 2048 &&
    B64URL.test(value) &&
    (length === undefined || value.length === length)
  );
}

function jsonObject(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/**
 * The string of an RFC 9651 sf-string header (`"value"`, parameters ignored), or of a bare token
 * (builds that sent the value unquoted). Values with escapes are refused: nothing cloakroom
 * issues or accepts (session ids, JWS) contains a quote or a backslash.
 */
export function headerString(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const v = value.trim();
  if (v.startsWith('"')) {
    const end = v.indexOf('"', 1);
    if (end === -1) return null;
    const inner = v.slice(1, end);
    const rest = v.slice(end + 1);
    if (inner.includes('\\') || (rest !== '' && !rest.startsWith(';'))) return null;
    return inner === '' ? null : inner;
  }
  return /^[A-Za-z0-9._~+/=-]+$/.test(v) ? v : null;
}
