import type { User } from 'cloakroom';
import { SecondFactorFields } from '../code-fields.js';
import { Layout } from '../layout.js';

export interface ReauthProps {
  user: User;
  csrf: string;
  next: string;
  error?: string | null;
  /** The field the error is about: it gets the focus. */
  focus?: 'password' | 'code';
}

/**
 * "Confirm it's you": a sensitive change (password, second factor, sessions elsewhere, any
 * admin change) wants a proof of the password (and the code, when the user has one) within the
 * re-authentication window; afterwards the browser goes back to the page it came from.
 */
export function ReauthPage({ user, csrf, next, error, focus }: ReauthProps) {
  return (
    <Layout title="Confirm it’s you" user={user} csrf={csrf} narrow>
      <div class="card">
        <h1>Confirm it’s you</h1>
        <p class="muted">
          This change needs a recent sign-in. Enter your password
          {user.secondFactor ? ' and a code from your authenticator app' : ''} to continue as{' '}
          <strong>{user.username}</strong>.
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
          {user.secondFactor ? <SecondFactorFields autofocus={focus === 'code'} /> : null}
          <button type="submit" class="wide">
            Confirm
          </button>
        </form>
        <p class="center">
          <a href={next}>Cancel</a>
        </p>
      </div>
    </Layout>
  );
}
