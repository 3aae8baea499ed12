export { counterStoreConformance } from './counter-store.js';
export type { StoreFactory, TestApi, TestBody } from './harness.js';
export { sessionStoreConformance } from './session-store.js';
export { userStoreConformance } from './user-store.js';
