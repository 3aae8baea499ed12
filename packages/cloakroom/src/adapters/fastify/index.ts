export type { DbscEvent, NoUserReason, Refusal, Session, User } from './plugin.js';
export {
  adopt,
  type CloakroomState,
  cloakroomPlugin,
  csrf,
  csrfToken,
  endSession,
  type FastifyAuthOptions,
  loginCsrf,
  loginToken,
  reauthenticate,
  requireRecentAuth,
  requireRole,
  requireUser,
  rotate,
  setCookies,
  startSession,
} from './plugin.js';
