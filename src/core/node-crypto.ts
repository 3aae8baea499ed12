import * as nodeCryptoModule from 'node:crypto';
import type { SessionCrypto } from './crypto.js';

// The one measured exception to "core speaks Web standards" (STYLE.md, habit 1):
// synchronous node:crypto is ~10x cheaper per call than awaited Web Crypto.
const { createHash, createHmac, randomBytes, timingSafeEqual } = nodeCryptoModule;
const oneShotHash = (nodeCryptoModule as { hash?: (alg: string, data: string, enc: 'base64url') => string })
  .hash;

/** {@link SessionCrypto} on synchronous `node:crypto`: the default on Node. */
export const nodeCrypto: SessionCrypto = {
  randomBytes: (length) => randomBytes(length),
  hmacSha256: (key, data) => createHmac('sha256', key).update(data).digest(),
  sha256Base64url: oneShotHash
    ? (data) => oneShotHash('sha256', data, 'base64url')
    : (data) => createHash('sha256').update(data).digest('base64url'),
  timingSafeEqual: (a, b) => a.length === b.length && timingSafeEqual(a, b),
  encodeBase64url: (bytes) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url'),
  decodeBase64url: (text) => Buffer.from(text, 'base64url'),
};
