import { adapterApps } from '../support/adapter-apps.js';
import { adapterBehaviour } from './behaviour.js';

adapterBehaviour('fastify (inject)', adapterApps.fastifyInject);
adapterBehaviour('fastify (real HTTP)', adapterApps.fastifyHttp);
