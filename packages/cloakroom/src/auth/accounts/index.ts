export { completeSignIn, type SignInCompleted } from './complete-sign-in.js';
export { bootstrapAdmin, type Claim, createUser } from './create.js';
export { changePassword, type PasswordChanged, resetPassword } from './credentials.js';
export { type AccountDeps, type AccountFailure, ADMIN_ROLE, type UserChange } from './deps.js';
export { beginTotpEnrolment, confirmTotpEnrolment, currentTotpEnrolment } from './enrolment.js';
export { lockUser, setRoles, type UserUpdate, unlockUser, updateProfile, updateUser } from './manage.js';
export { reauthenticate } from './reauthenticate.js';
export { inspectRecoveryLink, issueRecoveryLink, useRecoveryLink } from './recovery-link.js';
export { type ResealReport, resealSecondFactors } from './reseal.js';
export {
  disableSecondFactor,
  regenerateRecoveryCodes,
  resetSecondFactor,
  type SecondFactorStatus,
  secondFactorStatus,
} from './second-factor.js';
export { listSessions, revokeAllSessions, revokeSession, signOutOthers } from './sessions.js';
