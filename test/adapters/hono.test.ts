import { adapterApps } from '../support/adapter-apps.js';
import { adapterBehaviour } from './behaviour.js';

// The Hono-only tests (form parsing edge cases, lost updates) stay in test/adapters/hono/.
// stale-user-after-adopt: `adopt`/`startSession` leave `c.var.user` on the previous session's user.
adapterBehaviour('hono (app.request)', adapterApps.hono);
