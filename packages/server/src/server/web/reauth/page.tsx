import type { User } from 'cloakroom';
import { RecoveryCodeInput, SecondFactorFields } from '../code-fields.js';
import { Layout } from '../layout.js';
import { PasskeyButton } from '../passkey-ui.js';

export interface ReauthProps {
  user: User;
  csrf: string;
  next: string;
  error?: string | null;
  /** The field the error is about: it gets the focus. */
  focus?: 'password' | 'code';
  /** The user has an authenticator app: the password wants its code (or a recovery code). */
  totp: boolean;
  /** The user has a passkey and passkeys are on: "Confirm with a passkey" (the page loads the module). */
  passkeys: boolean;
}

/**
 * "Confirm it's you": a sensitive change (password, second factor, sessions elsewhere, any
 * admin change) wants a proof of the factors within the re-authentication window: a passkey
 * alone, or the password with the code (or a recovery code) when the user has a second factor;
 * afterwards the browser goes back to the page it came from.
 */
export function ReauthPage({ user, csrf, next, error, focus, totp, passkeys }: ReauthProps) {
  // A second factor without an authenticator app (passkeys only): the password wants a recovery code.
  const recoveryOnly = user.secondFactor && !totp;
  return (
    <Layout title="Confirm it’s you" user={user} csrf={csrf} narrow script={passkeys}>
      <div class="card">
        <h1>Confirm it’s you</h1>
        <p class="muted">
          This change needs a recent sign-in. Enter your password
          {totp ? ' and a code from your authenticator app' : recoveryOnly ? ' and a recovery code' : ''}
          {passkeys ? ', or use a passkey,' : ''} to continue as <strong>{user.username}</strong>.
        </p>
        {error ? (
          <div class="flash error" role="alert" id="reauth-error">
            {error}
          </div>
        ) : null}
        <form method="post" action="/reauth" aria-describedby={error ? 'reauth-error' : undefined}>
          <input type="hidden" name="_csrf" value={csrf} />
          <input type="hidden" name="next" value={next} />
          <input type="hidden" name="username" value={user.username} autocomplete="username" />
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            autofocus={focus !== 'code'}
          />
          {totp ? <SecondFactorFields autofocus={focus === 'code'} /> : null}
          {recoveryOnly ? <RecoveryCodeInput required /> : null}
          <button type="submit" class="wide">
            Confirm
          </button>
        </form>
        {passkeys ? (
          <PasskeyButton
            ceremony="reauth"
            label="Confirm with a passkey"
            next={next}
            csrf={csrf}
            quiet
            separator="or"
          />
        ) : null}
        <p class="center">
          <a href={next}>Cancel</a>
        </p>
      </div>
    </Layout>
  );
}
