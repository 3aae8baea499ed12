export { bootstrapAdmin, type Claim, createUser } from './create.js';
export { changePassword, type PasswordChanged, resetPassword } from './credentials.js';
export { type AccountDeps, type AccountFailure, ADMIN_ROLE, type UserChange } from './deps.js';
export { lockUser, setRoles, type UserUpdate, unlockUser, updateProfile, updateUser } from './manage.js';
export { listSessions, revokeAllSessions, revokeSession, signOutOthers } from './sessions.js';
