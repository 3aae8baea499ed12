export * from './auth/index.js';
export * from './core/index.js';
