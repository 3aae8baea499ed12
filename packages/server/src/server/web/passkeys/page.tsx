import type { User } from 'cloakroom';
import type { PasskeyInfo } from 'cloakroom/passkeys';
import type { Flash } from '../flash.js';
import { formatDate, formatDay, relativeTime } from '../helpers.js';
import { Layout } from '../layout.js';
import { PasskeyFallback } from '../passkey-ui.js';

export const PASSKEYS_PAGE = '/account/passkeys';
/** Where "Add a passkey" goes first when the sign-in is not recent (and back here afterwards). */
export const PASSKEYS_REAUTH = `/reauth?next=${encodeURIComponent(PASSKEYS_PAGE)}`;
/** Where the module goes after a passkey was added (the page then says so). */
export const PASSKEYS_ADDED = `${PASSKEYS_PAGE}?added=1`;

export interface PasskeysProps {
  user: User;
  csrf: string;
  passkeys: PasskeyInfo[];
  now: number;
  flash: Flash | null;
  /** A refusal of a rename or removal, shown above the list. */
  error?: string | null;
  /** The sign-in is within the re-auth window: the form to add one, else the way to /reauth. */
  recent: boolean;
  /** The add form's name, suggested from this browser ("Chrome on Linux"). */
  suggestedName: string;
}

/**
 * /account/passkeys: the user's passkeys (name, when made, when last used, whether synced), a
 * rename and a remove form for each (plain forms: no script needed), and "Add a passkey", which
 * needs the module (WebAuthn is a browser API) and a recent sign-in. The recovery codes a first
 * passkey brings are shown once, by the module, in the section kept for them.
 */
export function PasskeysPage(props: PasskeysProps) {
  const { user, csrf, passkeys, now, flash, error, recent, suggestedName } = props;
  return (
    <Layout title="Passkeys" user={user} csrf={csrf} flash={flash} current="account" script>
      <p class="crumbs">
        <a href="/account">Account</a> › Passkeys
      </p>
      <h1>Passkeys</h1>
      {error ? (
        <div class="flash error" role="alert">
          {error}
        </div>
      ) : null}
      <section class="card" aria-labelledby="list-h">
        <h2 id="list-h">Your passkeys</h2>
        {passkeys.length === 0 ? (
          <p class="muted">
            No passkeys yet. A passkey signs you in with your fingerprint, face or screen lock instead of a
            password, and it cannot be phished: it only works on this site.
          </p>
        ) : (
          <PasskeyTable passkeys={passkeys} csrf={csrf} now={now} />
        )}
      </section>
      <section class="card" aria-labelledby="add-h">
        <h2 id="add-h">Add a passkey</h2>
        <p>
          Your device or password manager makes the passkey and keeps it; this site only gets its public key.
          Signing in with your password will then also ask for a passkey.
        </p>
        {recent ? (
          <>
            <form
              class="short passkey"
              data-passkey="register"
              data-next={PASSKEYS_ADDED}
              data-reauth={PASSKEYS_REAUTH}
              data-csrf={csrf}
              hidden
            >
              <label for="passkey-name">Name</label>
              <input
                id="passkey-name"
                name="name"
                type="text"
                maxlength={64}
                required
                autocomplete="off"
                value={suggestedName}
                aria-describedby="passkey-name-hint"
              />
              <p class="hint" id="passkey-name-hint">
                So you can tell your passkeys apart, such as “Work laptop”.
              </p>
              <div class="actions">
                <button type="submit">Add a passkey</button>
              </div>
              <div class="passkey-status" data-passkey-status aria-live="polite" />
            </form>
            <PasskeyFallback text="This browser cannot make passkeys (or JavaScript is off). Use a browser that supports passkeys to add one." />
          </>
        ) : (
          <div class="split">
            <p class="hint">Adding a passkey needs a recent sign-in.</p>
            <a class="button" href={PASSKEYS_REAUTH}>
              Confirm it’s you
            </a>
          </div>
        )}
      </section>
      <section class="card" aria-labelledby="codes-h" data-passkey-codes hidden>
        <h2 id="codes-h" tabindex={-1}>
          Your recovery codes
        </h2>
        <div class="flash ok">Your passkey is added. It can sign you in from now on.</div>
        <div class="flash warn">Save these codes now: this is the only time they are shown.</div>
        <p>
          If you cannot use any of your passkeys, each code signs you in once instead. Keep them somewhere
          safe: a password manager, or printed on paper.
        </p>
        <ol class="codes" aria-label="Recovery codes" />
        <div class="actions">
          <a class="button" href={PASSKEYS_ADDED}>
            Done, I saved them
          </a>
        </div>
      </section>
    </Layout>
  );
}

function PasskeyTable({ passkeys, csrf, now }: { passkeys: PasskeyInfo[]; csrf: string; now: number }) {
  return (
    <table class="responsive passkeys">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Created</th>
          <th scope="col">Last used</th>
          <th scope="col">Backed up</th>
          <th scope="col">
            <span class="muted">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {passkeys.map((p, i) => (
          <tr data-passkey-id={p.id}>
            <td data-label="Name" class="who">
              <span class="name" title={p.name}>
                {p.name}
              </span>
            </td>
            <td data-label="Created">
              <time datetime={new Date(p.createdAt).toISOString()} title={formatDate(p.createdAt)}>
                {formatDay(p.createdAt)}
              </time>
            </td>
            <td data-label="Last used">
              {p.lastUsedAt === null ? (
                <span class="muted">never</span>
              ) : (
                <time datetime={new Date(p.lastUsedAt).toISOString()} title={formatDate(p.lastUsedAt)}>
                  {relativeTime(p.lastUsedAt, now)}
                </time>
              )}
            </td>
            <td data-label="Backed up">
              <BackupTag passkey={p} />
            </td>
            <td data-label="Actions">
              <div class="actions">
                <details class="menu">
                  <summary aria-label={`Rename ${p.name}`}>Rename</summary>
                  <form method="post" action={`/account/passkeys/${p.id}/rename`}>
                    <input type="hidden" name="_csrf" value={csrf} />
                    <label for={`rename-${i}`}>New name</label>
                    <input
                      id={`rename-${i}`}
                      name="name"
                      type="text"
                      maxlength={64}
                      required
                      value={p.name}
                    />
                    <div class="actions">
                      <button type="submit" class="quiet small">
                        Save name
                      </button>
                    </div>
                  </form>
                </details>
                <details class="menu">
                  <summary aria-label={`Remove ${p.name}`}>Remove</summary>
                  <form method="post" action={`/account/passkeys/${p.id}/remove`}>
                    <input type="hidden" name="_csrf" value={csrf} />
                    <p class="hint">“{p.name}” will no longer sign you in. Delete it on the device too.</p>
                    <div class="actions">
                      <button type="submit" class="danger small">
                        Remove passkey
                      </button>
                    </div>
                  </form>
                </details>
              </div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Whether the passkey survives the loss of the device: synced (backed up, as it said when last
 * used), one that may sync but is not backed up yet, or one bound to this one authenticator.
 */
function BackupTag({ passkey }: { passkey: PasskeyInfo }) {
  if (passkey.backedUp) return <span class="tag here">synced</span>;
  if (passkey.deviceType === 'multiDevice') return <span class="tag">not yet synced</span>;
  return <span class="tag">this device only</span>;
}
