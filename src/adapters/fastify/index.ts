export type { NoUserReason, Refusal, Session, User } from './plugin.js';
export {
  adopt,
  type CloakroomState,
  cloakroomPlugin,
  csrf,
  endSession,
  type FastifyAuthOptions,
  requireRole,
  requireUser,
  rotate,
  setCookies,
  startSession,
} from './plugin.js';
