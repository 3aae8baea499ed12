import type { DbscEvent } from 'cloakroom';
import type { Logger } from 'pino';
import { audit } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * What a device-bound-session registration or refresh did, as an audit event and a metric. A
 * refresh that was only sent a challenge is counted, not logged: every bound browser makes one
 * whenever it has no challenge cached, and the log would fill with them.
 */
export function recordDbsc(logger: Logger, metrics: Metrics, event: DbscEvent): void {
  switch (event.type) {
    case 'registered':
      metrics.dbscRegistrations.inc({ result: 'bound' });
      audit(logger, 'dbsc.registered', { userId: event.userId, session: event.sessionId, alg: event.alg });
      return;
    case 'refreshed':
      metrics.dbscRefreshes.inc({ result: 'refreshed' });
      audit(logger, 'dbsc.refreshed', { userId: event.userId, session: event.sessionId });
      return;
    case 'challenged':
      metrics.dbscRefreshes.inc({ result: 'challenged' });
      return;
    case 'ended':
      metrics.dbscRefreshes.inc({ result: 'ended' });
      return;
    case 'refused':
      (event.step === 'registration' ? metrics.dbscRegistrations : metrics.dbscRefreshes).inc({
        result: event.reason,
      });
      audit(logger, 'dbsc.refused', {
        step: event.step,
        reason: event.reason,
        ...(event.userId ? { userId: event.userId, session: event.sessionId } : {}),
      });
      return;
  }
}
