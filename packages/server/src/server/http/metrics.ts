import { Counter, collectDefaultMetrics, Registry } from 'prom-client';

/** The server's Prometheus metrics. Labels are fixed vocabularies: never a token or a username. */
export interface Metrics {
  registry: Registry;
  validations: Counter<'result'>;
  logins: Counter<'outcome'>;
  csrfRefusals: Counter<'reason'>;
  storeErrors: Counter;
  forwardAuth: Counter<'result'>;
  passwordRefusals: Counter<'reason'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cloakroom_' });
  return {
    registry,
    validations: new Counter({
      name: 'cloakroom_session_validations_total',
      help: 'Session validations by result (ok, or the reason there was no session).',
      labelNames: ['result'],
      registers: [registry],
    }),
    logins: new Counter({
      name: 'cloakroom_logins_total',
      help: 'Sign-in attempts by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    csrfRefusals: new Counter({
      name: 'cloakroom_csrf_refusals_total',
      help: 'Unsafe requests refused by the CSRF checks, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'cloakroom_store_errors_total',
      help: 'Requests answered 503 because a store was unreachable.',
      registers: [registry],
    }),
    forwardAuth: new Counter({
      name: 'cloakroom_forward_auth_total',
      help: 'Forward-auth (/auth/verify) answers by result.',
      labelNames: ['result'],
      registers: [registry],
    }),
    passwordRefusals: new Counter({
      name: 'cloakroom_password_checks_refused_total',
      help: 'Password checks (sign-in, password change, new password) refused as busy (503) before they started, by reason (queue_full, timeout).',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
