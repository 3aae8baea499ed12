import { type Duration, parseDuration } from '../../core/duration.js';

/**
 * The window of a `requireRecentAuth(maxAge)` guard in ms, parsed once where the guard is made,
 * so a bad value throws `ConfigError` at start-up, not on a request. `undefined` keeps the
 * sessions' `reauthWindow` (read per request: a plain number, nothing parsed).
 */
export function recentAuthWindow(maxAge: Duration | undefined): number | undefined {
  return maxAge === undefined ? undefined : parseDuration(maxAge, 'requireRecentAuth(maxAge)');
}
