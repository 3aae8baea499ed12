import type { PasswordRefusal } from 'cloakroom';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

/** A burst of refusals ends after this long without one. */
export const BURST_QUIET_MS = 10_000;

/**
 * What the server does with each refusal of the password limit: counts it
 * (`cloakroom_password_checks_refused_total`), and logs bursts, not requests — one
 * `passwords.busy` warning when refusals start, one `passwords.busy.ended` line with how many
 * there were once none came for {@link BURST_QUIET_MS}. A flood of thousands of refused sign-ins
 * writes two log lines.
 */
export function busyReporter(
  logger: Logger,
  metrics: Metrics,
  limit: { concurrency: number; queue: number; maxWaitMs: number },
  quietMs = BURST_QUIET_MS,
): (refusal: PasswordRefusal) => void {
  let burst: {
    started: number;
    last: number;
    refused: number;
    timer: ReturnType<typeof setInterval>;
  } | null = null;
  const end = () => {
    if (!burst) return;
    clearInterval(burst.timer);
    logger.info(
      {
        event: 'passwords.busy.ended',
        refused: burst.refused,
        seconds: Math.round((burst.last - burst.started) / 1000),
      },
      `sign-in load is back within the limit; ${burst.refused} password check(s) were refused as busy`,
    );
    burst = null;
  };
  return (refusal) => {
    metrics.passwordRefusals.inc({ reason: refusal.reason });
    const now = performance.now();
    if (burst) {
      burst.refused++;
      burst.last = now;
      return;
    }
    const timer = setInterval(() => {
      if (burst && performance.now() - burst.last >= quietMs) end();
    }, quietMs);
    timer.unref();
    burst = { started: now, last: now, refused: 1, timer };
    logger.warn(
      { event: 'passwords.busy', reason: refusal.reason, ...limit },
      `password checks are refused as busy (503): ${limit.concurrency} run at once and ${limit.queue} may wait (CLOAKROOM_SIGNIN_CONCURRENCY, CLOAKROOM_SIGNIN_QUEUE)`,
    );
  };
}
