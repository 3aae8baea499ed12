import { CodeInput, RecoveryCodeInput } from '../code-fields.js';
import type { Flash } from '../flash.js';
import { Layout } from '../layout.js';

export interface SecondStepProps {
  /** The login token (login CSRF: there is no session yet). */
  token: string;
  next: string;
  /** Who proved the password, so a person on a shared computer sees whose sign-in this is. */
  username: string;
  /** Whole minutes until the pending state expires (at least 1). */
  minutesLeft: number;
  error?: string | null;
  /** The form the error is about: the recovery code's opens its `<details>`. */
  errorOn?: 'code' | 'recoveryCode';
  flash?: Flash | null;
}

/**
 * The second step of signing in: the password was right, the browser holds only a pending
 * state, and the session is made once a code (or a recovery code) is right.
 */
export function SecondStepPage({
  token,
  next,
  username,
  minutesLeft,
  error,
  errorOn,
  flash,
}: SecondStepProps) {
  const recovery = errorOn === 'recoveryCode';
  return (
    <Layout title="Two-step sign-in" flash={flash ?? null} narrow>
      <div class="card">
        <h1>Two-step sign-in</h1>
        <p class="muted">
          Signing in as <strong>{username}</strong>. Open your authenticator app and enter the code it shows
          for cloakroom.
        </p>
        {error ? (
          <div class="flash error" role="alert" id="step-error">
            {error}
          </div>
        ) : null}
        <form method="post" action="/login/second-factor">
          <input type="hidden" name="_csrf" value={token} />
          <input type="hidden" name="next" value={next} />
          <CodeInput
            required
            autofocus={!recovery}
            {...(error && !recovery ? { describedBy: 'step-error' } : {})}
          />
          <button type="submit" class="wide">
            Verify and sign in
          </button>
        </form>
        <details class="alt" open={recovery}>
          <summary>Lost your authenticator? Use a recovery code</summary>
          <form method="post" action="/login/second-factor">
            <input type="hidden" name="_csrf" value={token} />
            <input type="hidden" name="next" value={next} />
            <RecoveryCodeInput required />
            <button type="submit" class="quiet wide">
              Sign in with a recovery code
            </button>
          </form>
        </details>
        <form method="post" action="/login/second-factor/cancel" class="cancel">
          <input type="hidden" name="_csrf" value={token} />
          <button type="submit" class="quiet small">
            Cancel
          </button>
        </form>
      </div>
      <p class="hint center">
        The code changes every 30 seconds. Finish within {minutesLeft} minute{minutesLeft === 1 ? '' : 's'},
        or sign in again.
      </p>
    </Layout>
  );
}
