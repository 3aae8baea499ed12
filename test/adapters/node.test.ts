import { adapterApps } from '../support/adapter-apps.js';
import { adapterBehaviour } from './behaviour.js';

adapterBehaviour('node:http (real HTTP)', adapterApps.node);
