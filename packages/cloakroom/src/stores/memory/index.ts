export { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './store.js';
export { createMemoryUserStore } from './users.js';
