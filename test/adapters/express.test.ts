import { adapterApps } from '../support/adapter-apps.js';
import { adapterBehaviour } from './behaviour.js';

adapterBehaviour('express (real HTTP)', adapterApps.express);
