export { bootstrapAdmin, type Claim, createUser } from './create.js';
export { changePassword, type PasswordChanged, resetPassword } from './credentials.js';
export { ADMIN_ROLE, type AccountDeps, type AccountFailure, type UserChange } from './deps.js';
export { lockUser, setRoles, unlockUser, updateProfile } from './manage.js';
export { listSessions, revokeAllSessions, revokeSession, signOutOthers } from './sessions.js';
