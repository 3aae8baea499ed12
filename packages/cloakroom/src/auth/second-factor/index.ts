export { hasSecondFactor, type PasskeyDeviceType } from './document.js';
export { createSecondFactor, type SecondFactor, type SecondFactorOptions } from './factor.js';
export { type CodeInput, codeThrottleKey } from './proof.js';
export { RECOVERY_CODE_COUNT } from './recovery-codes.js';
export { RECOVERY_LINK_MS } from './recovery-link-token.js';
export { createSecretBox, type SecretBox } from './secret-box.js';
export { totpCodeAt } from './totp.js';
