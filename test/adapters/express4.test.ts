import { adapterApps } from '../support/adapter-apps.js';
import { adapterBehaviour } from './behaviour.js';

// The peer range is `express ^4.17 || ^5`: the same suite on Express 4 (the `express4` alias).
adapterBehaviour('express 4 (real HTTP)', adapterApps.express4);
