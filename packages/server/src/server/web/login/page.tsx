import type { Flash } from '../flash.js';
import { Layout } from '../layout.js';
import { PasskeyButton } from '../passkey-ui.js';

export interface LoginProps {
  token: string;
  next: string;
  username?: string;
  error?: string | null;
  flash?: Flash | null;
  /**
   * Passkeys are on: the "Sign in with a passkey" button (shown by the module), and the browser
   * may offer passkeys in the username field's autofill (`webauthn`).
   */
  passkeys?: boolean;
}

/**
 * The sign-in form: works without JavaScript; CSRF-protected by the login token. With passkeys
 * on, a passkey signs in without the form (the button, or the username field's autofill).
 */
export function LoginPage({ token, next, username, error, flash, passkeys }: LoginProps) {
  // After a failed sign-in the username is still there: the password is what to type again.
  const focusPassword = Boolean(error && username);
  return (
    <Layout title="Sign in" flash={flash ?? null} narrow script={passkeys ?? false}>
      <div class="card">
        <h1>Sign in</h1>
        {error ? (
          <div class="flash error" role="alert" id="login-error">
            {error}
          </div>
        ) : null}
        <form method="post" action="/login" aria-describedby={error ? 'login-error' : undefined}>
          <input type="hidden" name="_csrf" value={token} />
          <input type="hidden" name="next" value={next} />
          <label for="username">Username</label>
          <input
            id="username"
            name="username"
            type="text"
            autocomplete={passkeys ? 'username webauthn' : 'username'}
            autocapitalize="none"
            spellcheck={false}
            required
            autofocus={!focusPassword}
            value={username ?? ''}
          />
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            autofocus={focusPassword}
          />
          <label class="check" for="remember">
            <input id="remember" name="remember" type="checkbox" value="on" />
            Keep me signed in on this device
          </label>
          <button type="submit" class="wide">
            Sign in
          </button>
        </form>
        {passkeys ? (
          <PasskeyButton ceremony="signin" label="Sign in with a passkey" next={next} quiet separator="or" />
        ) : null}
      </div>
      <p class="hint center">
        Sessions end after a period of inactivity unless you choose to stay signed in.
      </p>
    </Layout>
  );
}
