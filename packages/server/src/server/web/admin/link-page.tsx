import type { User } from 'cloakroom';
import { formatDate } from '../helpers.js';
import { Layout } from '../layout.js';

/**
 * The recovery link an admin just made, shown once (the store keeps only its hash): as text to
 * copy and hand over by a channel the admin trusts, with its expiry.
 */
export function RecoveryLinkPage(props: {
  user: User;
  csrf: string;
  /** Whose link it is. */
  target: { username: string; displayName: string };
  url: string;
  expiresAt: number;
  clearSecondFactor: boolean;
}) {
  const { user, csrf, target, url, expiresAt, clearSecondFactor } = props;
  return (
    <Layout title="Recovery link" user={user} csrf={csrf} current="admin">
      <p class="crumbs">
        <a href="/admin">Users</a> › Recovery link
      </p>
      <h1>Recovery link for {target.displayName}</h1>
      <section class="card" aria-labelledby="link-h">
        <h2 id="link-h">
          Give this link to <strong>{target.username}</strong>
        </h2>
        <div class="flash warn" role="status">
          Shown once: copy it now. Whoever opens it can set {target.username}’s password, so send it by a
          channel you trust.
        </div>
        <label for="recovery-url">Link</label>
        <textarea id="recovery-url" class="link" rows={3} readonly autofocus spellcheck={false}>
          {url}
        </textarea>
        <dl class="facts">
          <dt>Valid until</dt>
          <dd>
            <time datetime={new Date(expiresAt).toISOString()}>{formatDate(expiresAt)}</time> (1 hour)
          </dd>
          <dt>Works</dt>
          <dd>once; it stops working if the password is changed another way</dd>
          <dt>Second factor</dt>
          <dd>{clearSecondFactor ? 'removed when the link is used' : 'kept'}</dd>
        </dl>
        <p class="hint">
          Using it sets a new password and signs {target.username} out everywhere. A new link replaces this
          one.
        </p>
        <div class="actions">
          <a href="/admin">Back to users</a>
        </div>
      </section>
    </Layout>
  );
}
