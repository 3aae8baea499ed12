export type { NoUserReason, Refusal, Session, User } from './plugin.js';
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
  requireRole,
  requireUser,
  rotate,
  setCookies,
  startSession,
} from './plugin.js';
