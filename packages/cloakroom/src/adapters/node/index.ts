export type { DbscEvent, NoUserReason, Refusal, Session, User } from './auth.js';
export {
  createNodeAuth,
  type NodeAuth,
  type NodeAuthOptions,
  type NodeAuthState,
  type NodeHandler,
} from './auth.js';
