/**
 * Session-cookie signatures already verified by this process, so the same cookie presented
 * again costs a map lookup instead of an HMAC (the largest share of validating a session after
 * the store read: ~2 µs alone, several under load). The signature check is a pure function of
 * the cookie and the keyring, and a keyring never changes within a `createSessions` instance, so
 * a remembered verdict stays true; revocation and expiry are the store's business and are
 * checked on every request as before.
 *
 * What is kept is never a credential: the key is the session's store key (SHA-256 of the
 * token, what the store holds anyway) and the value the signature, which is worthless without
 * the token. A cookie whose signature differs from the remembered one by a single character is
 * verified in full again (and refused), compared in constant time. Only verified signatures are
 * remembered, so forged cookies cannot fill it; it is bounded and simply emptied when full.
 */
export interface VerifiedSignatures {
  /** The key index that made `signature` for `storeKey`, if this pair verified before. */
  lookup(storeKey: string, signature: string): number | undefined;
  /** Remembers a pair that just verified. */
  remember(storeKey: string, signature: string, keyIndex: number): void;
}

/** Default entries before the memo is emptied (`rememberVerified`): ~10k active cookies, ~2 MB at most. */
export const VERIFIED_SIGNATURES_MAX = 10_000;

export function createVerifiedSignatures(max = VERIFIED_SIGNATURES_MAX): VerifiedSignatures {
  const entries = new Map<string, { signature: string; keyIndex: number }>();
  return {
    lookup(storeKey, signature) {
      const entry = entries.get(storeKey);
      return entry !== undefined && sameText(entry.signature, signature) ? entry.keyIndex : undefined;
    },
    remember(storeKey, signature, keyIndex) {
      if (entries.size >= max) entries.clear();
      entries.set(storeKey, { signature, keyIndex });
    },
  };
}

/** Equality of two strings in time that depends only on their length. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
