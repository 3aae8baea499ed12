import { Layout } from '../layout.js';

/** A recovery link, opened: whose it is, and a new password (twice). */
export function RecoverPage(props: {
  /** The login token (login CSRF: there is no session). */
  csrf: string;
  username: string;
  displayName: string;
  clearSecondFactor: boolean;
  error?: string | null;
}) {
  const { csrf, username, displayName, clearSecondFactor, error } = props;
  return (
    <Layout title="Set a new password" narrow>
      <div class="card">
        <h1>Set a new password</h1>
        <p class="muted">
          For <strong>{displayName}</strong> (<span class="login">{username}</span>). This link works once.
        </p>
        {error ? (
          <div class="flash error" role="alert" id="recover-error">
            {error}
          </div>
        ) : null}
        <form method="post" action="/recover" aria-describedby={error ? 'recover-error' : undefined}>
          <input type="hidden" name="_csrf" value={csrf} />
          <input type="hidden" name="username" value={username} autocomplete="username" />
          <label for="newPassword">New password</label>
          <input
            id="newPassword"
            name="newPassword"
            type="password"
            autocomplete="new-password"
            minlength={8}
            required
            autofocus
          />
          <p class="hint">At least 8 characters. A passphrase is easiest to remember.</p>
          <label for="confirmPassword">Repeat new password</label>
          <input
            id="confirmPassword"
            name="confirmPassword"
            type="password"
            autocomplete="new-password"
            minlength={8}
            required
          />
          <p class="hint">
            Setting it signs you out on every device.
            {clearSecondFactor ? ' Two-step sign-in is turned off too; set it up again afterwards.' : ''}
          </p>
          <button type="submit" class="wide">
            Set password
          </button>
        </form>
      </div>
    </Layout>
  );
}
