import { CodeInput, RecoveryCodeInput } from '../code-fields.js';
import type { Flash } from '../flash.js';
import { Layout } from '../layout.js';
import { PasskeyButton, PasskeyFallback } from '../passkey-ui.js';

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
  /** The user has an authenticator app: the code form. */
  totp: boolean;
  /** The user has a passkey and passkeys are on: "Use a passkey" (the page loads the module). */
  passkeys: boolean;
}

/**
 * The second step of signing in: the password was right, the browser holds only a pending
 * state, and the session is made once a second factor is proven: a passkey, a code from the
 * authenticator app (only for a user who has one), or a recovery code (always).
 */
export function SecondStepPage({
  token,
  next,
  username,
  minutesLeft,
  error,
  errorOn,
  flash,
  totp,
  passkeys,
}: SecondStepProps) {
  const recovery = errorOn === 'recoveryCode';
  return (
    <Layout title="Two-step sign-in" flash={flash ?? null} narrow script={passkeys}>
      <div class="card">
        <h1>Two-step sign-in</h1>
        <p class="muted">
          Signing in as <strong>{username}</strong>. {intro(totp, passkeys)}
        </p>
        {error ? (
          <div class="flash error" role="alert" id="step-error">
            {error}
          </div>
        ) : null}
        {totp ? (
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
        ) : null}
        {passkeys ? (
          <>
            <PasskeyButton
              ceremony="second-factor"
              label="Use a passkey"
              next={next}
              quiet={totp}
              {...(totp ? { separator: 'or' } : {})}
            />
            {totp ? null : (
              <PasskeyFallback text="This browser cannot use passkeys: use a recovery code, or sign in on a device that can." />
            )}
          </>
        ) : null}
        <details class="alt" open={recovery || (!totp && !passkeys)}>
          <summary>{recoverySummary(totp, passkeys)}</summary>
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
        {totp ? 'The code changes every 30 seconds. ' : ''}Finish within {minutesLeft} minute
        {minutesLeft === 1 ? '' : 's'}, or sign in again.
      </p>
    </Layout>
  );
}

function intro(totp: boolean, passkeys: boolean): string {
  if (totp && passkeys)
    return 'Use one of your passkeys, or enter the code your authenticator app shows for cloakroom.';
  if (passkeys) return 'Confirm with one of your passkeys.';
  if (totp) return 'Open your authenticator app and enter the code it shows for cloakroom.';
  return 'Enter one of your recovery codes.';
}

function recoverySummary(totp: boolean, passkeys: boolean): string {
  if (totp && passkeys) return 'Can’t use either? Use a recovery code';
  if (passkeys) return 'Lost your passkey? Use a recovery code';
  if (totp) return 'Lost your authenticator? Use a recovery code';
  return 'Use a recovery code';
}
