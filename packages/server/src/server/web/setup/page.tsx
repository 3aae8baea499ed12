import { Layout } from '../layout.js';

/** First run: the one-time set-up form that creates the first admin. */
export function SetupPage(props: {
  setupToken: string;
  csrf: string;
  error?: string | null;
  username?: string;
  displayName?: string;
  /** The field that gets the focus: the one an error is about; the username at first. */
  focus?: 'username' | 'displayName' | 'password';
}) {
  const focus = props.focus ?? 'username';
  return (
    <Layout title="Set up" narrow>
      <div class="card">
        <h1>Create the first admin</h1>
        <p class="muted">This link works once and expires an hour after the server started.</p>
        {props.error ? (
          <div class="flash error" role="alert">
            {props.error}
          </div>
        ) : null}
        <form method="post" action="/setup">
          <input type="hidden" name="_csrf" value={props.csrf} />
          <input type="hidden" name="token" value={props.setupToken} />
          <label for="username">Username</label>
          <input
            id="username"
            name="username"
            type="text"
            autocomplete="username"
            required
            autofocus={focus === 'username'}
            value={props.username ?? ''}
          />
          <label for="displayName">Display name</label>
          <input
            id="displayName"
            name="displayName"
            type="text"
            autocomplete="name"
            autofocus={focus === 'displayName'}
            value={props.displayName ?? ''}
          />
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="new-password"
            minlength={8}
            required
            autofocus={focus === 'password'}
          />
          <p class="hint">At least 8 characters. A passphrase is easiest to remember.</p>
          <label for="confirm">Repeat password</label>
          <input
            id="confirm"
            name="confirm"
            type="password"
            autocomplete="new-password"
            minlength={8}
            required
          />
          <button type="submit" class="wide">
            Create admin and sign in
          </button>
        </form>
      </div>
    </Layout>
  );
}
