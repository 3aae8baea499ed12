export type { DbscEvent, NoUserReason, Refusal, Session, User } from './auth.js';
export {
  type CloakroomState,
  createExpressAuth,
  type ExpressAuth,
  type ExpressAuthOptions,
} from './auth.js';
