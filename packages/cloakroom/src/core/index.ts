export { CEREMONY_MS, type Ceremonies, MAX_CEREMONY_MS } from './ceremony.js';
export { type Clock, type ManualClock, manualClock, systemClock } from './clock.js';
export {
  type CookieOptions,
  type CookiePolicy,
  type CookieVariant,
  createCookiePolicy,
  MAX_COOKIE_BYTES,
  MAX_COOKIE_NAME_LENGTH,
  type SameSite,
  serializeCookie,
} from './cookie.js';
export type { SessionCrypto } from './crypto.js';
export {
  type DbscAnswer,
  type DbscEvent,
  type DbscRefusal,
  type DeviceBoundSessions,
  REGISTRATION_GRACE_MS,
} from './dbsc.js';
export { type Duration, parseDuration } from './duration.js';
export { ConfigError, StoreError, toStoreError } from './errors.js';
export { createKeyring, type Keyring, MAX_SECRETS } from './keyring.js';
export type { LoginCsrf } from './login-csrf.js';
export { nodeCrypto } from './node-crypto.js';
export type { DbscOptions, SessionsOptions } from './options.js';
export { checkOrigin, normalizeTrustedOrigins, type OriginRefusal, ownOrigin } from './origin.js';
export type { PendingSignIn, PendingSignIns } from './pending.js';
export {
  type FromWebRequestOptions,
  fromWebRequest,
  type HeaderSource,
  type IncomingRequest,
  isSafeMethod,
} from './request.js';
export { MIN_SECRET_BYTES, secretWeakness } from './secret-strength.js';
export type { NoSessionReason, Session, SessionInfo } from './session.js';
export {
  type CreateOptions,
  type CsrfRefusal,
  createSessions,
  type Issued,
  type ReauthenticateOptions,
  type RotateOptions,
  type Sessions,
  type Validation,
} from './sessions.js';
export {
  type BindingKey,
  type DataChange,
  decodeBinding,
  encodeBinding,
  type JsonValue,
  type SessionBinding,
  type SessionRecord,
  type SessionStore,
} from './store.js';
export { isPublicId } from './token.js';
