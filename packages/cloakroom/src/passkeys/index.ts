/*
 * `cloakroom/passkeys`: passkeys (WebAuthn) for the account use cases. The only entry that loads
 * `@simplewebauthn/server` (an optional peer dependency): applications that never import it
 * install nothing more.
 */

export type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
export { createPasskeys, type Passkeys, type PasskeysOptions } from './config.js';
export { listPasskeys, removePasskey, renamePasskey } from './manage.js';
export { beginPasskeyReauth, finishPasskeyReauth } from './reauth.js';
export { MAX_PASSKEY_NAME, MAX_PASSKEYS, type PasskeyInfo } from './records.js';
export {
  beginPasskeyRegistration,
  finishPasskeyRegistration,
  type PasskeyRegistered,
} from './registration.js';
export {
  beginPasskeySecondFactor,
  finishPasskeySecondFactor,
  type PasskeySecondFactorDone,
} from './second-factor.js';
export { beginPasskeySignIn, finishPasskeySignIn, type PasskeySignedIn } from './sign-in.js';
