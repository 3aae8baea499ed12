import { adapterApps } from '../support/adapter-apps.js';
import { adapterBehaviour } from './behaviour.js';

// The Hono-only tests (form parsing edge cases, lost updates) stay in test/adapters/hono/.
adapterBehaviour('hono (app.request)', adapterApps.hono);
