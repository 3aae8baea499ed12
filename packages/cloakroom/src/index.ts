export * from './auth/index.js';
export * from './core/index.js';
// Building blocks the cloakroom server uses too: a time bound for any store call, the cookie
// writer with the library's defaults, and the check for the public id a session is known by.
export { within } from './stores/deadline.js';
