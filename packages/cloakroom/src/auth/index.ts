export {
  type AccountDeps,
  type AccountFailure,
  ADMIN_ROLE,
  bootstrapAdmin,
  type Claim,
  changePassword,
  createUser,
  listSessions,
  lockUser,
  type PasswordChanged,
  resetPassword,
  revokeAllSessions,
  revokeSession,
  setRoles,
  signOutOthers,
  type UserChange,
  type UserUpdate,
  unlockUser,
  updateProfile,
  updateUser,
} from './accounts/index.js';
export type { AccountEvent, Actor, AuditFields, AuditSink } from './audit.js';
export { throttleKeyOfIp } from './ip.js';
export {
  defaultPasswordConcurrency,
  type LimitedPasswordHasher,
  limitPasswordHasher,
  type PasswordLimitOptions,
  type PasswordLimitState,
  type PasswordRefusal,
  type PasswordRefusalReason,
  PasswordsBusyError,
} from './password-limit.js';
export {
  commonPasswordCount,
  isCommonPassword,
  MAX_PASSWORD_BYTES,
  MIN_PASSWORD_LENGTH,
  type PasswordPolicyContext,
  passwordPolicyError,
} from './password-policy.js';
export { type SignInDeps, type SignInInput, type SignInResult, signIn } from './sign-in.js';
export {
  type Admission,
  type Admitted,
  createThrottle,
  type Throttle,
  type ThrottleLimit,
  type ThrottleOptions,
  type ThrottleVerdict,
} from './throttle.js';
export type {
  Argon2Params,
  CounterState,
  CounterStore,
  NewUser,
  PasswordCheck,
  PasswordHasher,
  UpdateCondition,
  UserPatch,
  UserRecord,
  UserStore,
} from './types.js';
export { isValidRole, MAX_USERNAME_LENGTH, normalizeUsername, usernameSkeleton } from './usernames.js';
export {
  AccountError,
  checkDisplayName,
  checkRoles,
  createAccount,
  type NewAccount,
  normalizeRoles,
  type PreparedAccount,
  prepareAccount,
  toUser,
  type User,
} from './users.js';
