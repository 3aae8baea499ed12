import type { SessionInfo, User } from 'cloakroom';
import type { Flash } from '../flash.js';
import { describeDevice } from '../helpers.js';
import { Layout } from '../layout.js';
import type { FactorStatus } from '../second-factor/page.js';
import { SessionTable } from '../session-table.js';

export interface AccountProps {
  user: User;
  csrf: string;
  sessions: SessionInfo[];
  now: number;
  flash: Flash | null;
  /** Two-step sign-in: on or off, recovery codes left, passkeys. */
  factor: FactorStatus;
  /** Passkeys are on (`CLOAKROOM_PASSKEYS`): the Passkeys section. */
  passkeysOn: boolean;
}

/** Who I am, my profile, my password, my second factors, my sessions. */
export function AccountPage({ user, csrf, sessions, now, flash, factor, passkeysOn }: AccountProps) {
  const others = sessions.filter((s) => !s.current).length;
  return (
    <Layout title="Your account" user={user} csrf={csrf} flash={flash} current="account">
      <h1>Hello, {user.displayName}</h1>
      <div class="grid">
        <section class="card" aria-labelledby="profile-h">
          <h2 id="profile-h">Profile</h2>
          <dl class="facts">
            <dt>Username</dt>
            <dd>{user.username}</dd>
            <dt>Roles</dt>
            <dd>
              {user.roles.length ? (
                user.roles.map((r) => <span class="tag">{r}</span>)
              ) : (
                <span class="muted">none</span>
              )}
            </dd>
          </dl>
          <form method="post" action="/account/profile">
            <input type="hidden" name="_csrf" value={csrf} />
            <label for="displayName">Display name</label>
            <input
              id="displayName"
              name="displayName"
              type="text"
              maxlength={100}
              value={user.displayName}
              required
            />
            <div class="actions">
              <button type="submit">Save name</button>
            </div>
          </form>
        </section>
        <section class="card" aria-labelledby="password-h">
          <h2 id="password-h">Change password</h2>
          <form method="post" action="/account/password">
            <input type="hidden" name="_csrf" value={csrf} />
            <label for="currentPassword">Current password</label>
            <input
              id="currentPassword"
              name="currentPassword"
              type="password"
              autocomplete="current-password"
              required
            />
            <label for="newPassword">New password</label>
            <input
              id="newPassword"
              name="newPassword"
              type="password"
              autocomplete="new-password"
              minlength={8}
              required
            />
            <label for="confirmPassword">Repeat new password</label>
            <input
              id="confirmPassword"
              name="confirmPassword"
              type="password"
              autocomplete="new-password"
              minlength={8}
              required
            />
            <p class="hint">Changing it signs out every other device.</p>
            <div class="actions">
              <button type="submit">Change password</button>
            </div>
          </form>
        </section>
      </div>
      <div class="grid">
        <section class="card" aria-labelledby="factor-h">
          <h2 id="factor-h">Two-step sign-in</h2>
          <div class="split">
            <p>
              <TwoStepStatus factor={factor} />
            </p>
            <a class="button quiet" href="/account/second-factor">
              {factor.enabled || factor.passkeys > 0 ? 'Manage' : 'Set up'}
            </a>
          </div>
        </section>
        {passkeysOn ? (
          <section class="card" aria-labelledby="passkeys-h">
            <h2 id="passkeys-h">Passkeys</h2>
            <div class="split">
              <p>
                {factor.passkeys > 0 ? (
                  <>
                    <span class="tag here">
                      {factor.passkeys} passkey{factor.passkeys === 1 ? '' : 's'}
                    </span>{' '}
                    Sign in with your fingerprint, face or screen lock instead of a password.
                  </>
                ) : (
                  <>
                    <span class="tag">none</span> Sign in with your fingerprint, face or screen lock instead
                    of a password.
                  </>
                )}
              </p>
              <a class="button quiet" href="/account/passkeys">
                {factor.passkeys > 0 ? 'Manage' : 'Add a passkey'}
              </a>
            </div>
          </section>
        ) : null}
      </div>
      <section class="card" aria-labelledby="sessions-h">
        <h2 id="sessions-h">Where you are signed in</h2>
        <SessionTable
          sessions={sessions}
          now={now}
          action={(s) => (
            <form method="post" action={`/account/sessions/${s.id}/revoke`}>
              <input type="hidden" name="_csrf" value={csrf} />
              <button
                type="submit"
                class="danger small"
                aria-label={`Sign out ${describeDevice(s.userAgent)}${s.current ? ' (this device)' : ''}`}
              >
                Sign out
              </button>
            </form>
          )}
        />
        <div class="actions">
          <form method="post" action="/account/sessions/revoke-others">
            <input type="hidden" name="_csrf" value={csrf} />
            <button type="submit" class="quiet" disabled={others === 0}>
              Sign out everywhere else
            </button>
          </form>
          <span class="hint">
            {others === 0
              ? 'This is your only session.'
              : `${others} other session${others === 1 ? '' : 's'}`}
          </span>
        </div>
      </section>
      <section class="card" aria-labelledby="signout-h">
        <h2 id="signout-h">Sign out</h2>
        <form method="post" action="/logout">
          <input type="hidden" name="_csrf" value={csrf} />
          <button type="submit" class="danger">
            Sign out of this device
          </button>
        </form>
      </section>
    </Layout>
  );
}

/** The authenticator app's state, and what a password sign-in asks for besides. */
function TwoStepStatus({ factor }: { factor: FactorStatus }) {
  const codesLeft = (
    <span class="muted">
      {factor.recoveryCodesLeft} recovery code{factor.recoveryCodesLeft === 1 ? '' : 's'} left.
    </span>
  );
  if (factor.enabled)
    return (
      <>
        <span class="tag here">on</span> Signing in asks for a code from your authenticator app. {codesLeft}
      </>
    );
  if (factor.passkeys > 0)
    return (
      <>
        <span class="tag here">on</span> Signing in with your password asks for one of your passkeys.{' '}
        {codesLeft}
      </>
    );
  return (
    <>
      <span class="tag">off</span> Your password alone signs you in. Add a code from an authenticator app for
      a second step.
    </>
  );
}
