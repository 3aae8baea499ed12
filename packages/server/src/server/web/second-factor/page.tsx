import type { User } from 'cloakroom';
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import { CodeInput, SecondFactorFields } from '../code-fields.js';
import type { Flash } from '../flash.js';
import { formatDate } from '../helpers.js';
import { Layout } from '../layout.js';

/** What `secondFactorStatus` says about the signed-in user. */
export interface FactorStatus {
  /** The authenticator app (TOTP) is on. */
  enabled: boolean;
  recoveryCodesLeft: number;
  enrolledAt: number | null;
  /** How many passkeys the user has (they are a second factor too). */
  passkeys: number;
}

interface Common {
  user: User;
  csrf: string;
}

/** Few enough codes left that the page suggests a new set. */
const FEW_CODES = 3;

/** /account/second-factor: whether two-step sign-in is on, and what can be done about it. */
export function SecondFactorPage(
  props: Common & {
    status: FactorStatus;
    flash: Flash | null;
    /** The user's role requires a second factor and none is set up yet. */
    required: boolean;
    /** Passkeys are on: a passkey is offered as the other way to a second step. */
    passkeysOn?: boolean;
    error?: string | null;
  },
) {
  const { user, csrf, status, flash, required, error, passkeysOn } = props;
  return (
    <Layout title="Two-step sign-in" user={user} csrf={csrf} flash={flash} current="account">
      <p class="crumbs">
        <a href="/account">Account</a> › Two-step sign-in
      </p>
      <h1>Two-step sign-in</h1>
      {error ? (
        <div class="flash error" role="alert">
          {error}
        </div>
      ) : null}
      {status.enabled ? (
        <Enabled {...props} />
      ) : (
        <Disabled
          user={user}
          csrf={csrf}
          required={required}
          status={status}
          passkeysOn={passkeysOn ?? false}
        />
      )}
    </Layout>
  );
}

function Disabled({
  csrf,
  required,
  status,
  passkeysOn,
}: Common & { required: boolean; status: FactorStatus; passkeysOn: boolean }) {
  const setUp = (
    <section class="card" aria-labelledby="setup-h">
      <h2 id="setup-h">
        {status.passkeys > 0 ? 'Authenticator app' : 'Status'}: <span class="tag">off</span>
      </h2>
      {required ? (
        <p class="flash warn">Your role requires two-step sign-in. Set it up to use anything else.</p>
      ) : null}
      <p>
        With two-step sign-in, your password alone is not enough: signing in also asks for a six-digit code
        from an authenticator app on your phone (for example Google Authenticator, Microsoft Authenticator,
        1Password, Bitwarden or Aegis).
      </p>
      <form method="post" action="/account/second-factor/totp">
        <input type="hidden" name="_csrf" value={csrf} />
        <button type="submit">Set up two-step sign-in</button>
      </form>
      {passkeysOn && status.passkeys === 0 ? (
        <p class="hint">
          Or <a href="/account/passkeys">add a passkey</a>: signing in with your password then asks for it.
        </p>
      ) : null}
    </section>
  );
  if (status.passkeys === 0) return setUp;
  // Passkeys are a second step already; their recovery codes are managed here too.
  return (
    <div class="grid">
      {setUp}
      <section class="card" aria-labelledby="codes-status-h">
        <h2 id="codes-status-h">Your passkeys</h2>
        <p>
          Signing in with your password already asks for one of your passkeys (
          <a href="/account/passkeys">manage them</a>). An authenticator app adds another way.
        </p>
        <RecoveryCodesBox csrf={csrf} left={status.recoveryCodesLeft} />
      </section>
    </div>
  );
}

/** Recovery codes left, and a new set (replacing the old one); `children`: facts listed before. */
function RecoveryCodesBox({ csrf, left, children }: { csrf: string; left: number; children?: Child }) {
  return (
    <>
      <dl class="facts">
        {children}
        <dt>Recovery codes</dt>
        <dd>
          {left} left
          {left <= FEW_CODES ? <span class="tag locked">running low</span> : null}
        </dd>
      </dl>
      <form method="post" action="/account/second-factor/recovery-codes">
        <input type="hidden" name="_csrf" value={csrf} />
        <p class="hint">A new set replaces the old one: the old codes stop working.</p>
        <div class="actions">
          <button type="submit" class="quiet">
            Make new recovery codes
          </button>
        </div>
      </form>
    </>
  );
}

function Enabled({ csrf, status, required }: Common & { status: FactorStatus; required: boolean }) {
  return (
    <div class="grid">
      <section class="card" aria-labelledby="status-h">
        <h2 id="status-h">
          Status: <span class="tag here">on</span>
        </h2>
        <RecoveryCodesBox csrf={csrf} left={status.recoveryCodesLeft}>
          <dt>Authenticator</dt>
          <dd>{status.enrolledAt ? `set up ${formatDate(status.enrolledAt)}` : 'set up'}</dd>
        </RecoveryCodesBox>
      </section>
      <section class="card" aria-labelledby="off-h">
        <h2 id="off-h">Turn off</h2>
        {status.passkeys > 0 ? (
          <p class="hint">
            This turns off the authenticator app only: your passkeys and recovery codes stay, and signing in
            with your password still asks for a passkey.
          </p>
        ) : required ? (
          <p class="hint">Your role requires two-step sign-in: once it is off, you must set it up again.</p>
        ) : null}
        <form method="post" action="/account/second-factor/disable">
          <input type="hidden" name="_csrf" value={csrf} />
          <SecondFactorFields idPrefix="off-" />
          <div class="actions">
            <button type="submit" class="danger">
              {status.passkeys > 0 ? 'Turn off the authenticator app' : 'Turn off two-step sign-in'}
            </button>
          </div>
        </form>
      </section>
    </div>
  );
}

/** The key in groups of four, as authenticator apps show and accept it (spaces are ignored). */
export function groupKey(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

/**
 * Enrolment: the QR code (inline SVG rendered on the server: no script, no request for an
 * image), the same key as text for typing in, and the first code, which proves the app has it.
 * After a wrong code, and on a later visit, the page shows the same key again (the app already
 * holds it); "Start again" makes a new one, by choice. Without a key to show (the set-up took
 * over 30 minutes) "Start again" is the way on.
 */
export function EnrolPage(props: Common & { secret?: string; qrSvg?: string; error?: string | null }) {
  const { user, csrf, secret, qrSvg, error } = props;
  return (
    <Layout title="Set up two-step sign-in" user={user} csrf={csrf} current="account">
      <p class="crumbs">
        <a href="/account">Account</a> › <a href="/account/second-factor">Two-step sign-in</a> › Set up
      </p>
      <h1>Set up two-step sign-in</h1>
      <section class="card enrol" aria-labelledby="scan-h">
        {secret && qrSvg ? (
          <div class="enrol-key">
            <figure class="qr">{raw(qrSvg)}</figure>
            <div>
              <h2 id="scan-h">1. Scan this code</h2>
              <p>Open your authenticator app, add an account, and scan the QR code.</p>
              <p class="hint">Can’t scan it? Enter this key instead (time-based, 6 digits):</p>
              <p>
                <code class="key" id="totp-key">
                  {groupKey(secret)}
                </code>
              </p>
              <details class="alt">
                <summary>Scanned it wrongly, or removed it from the app?</summary>
                <p class="hint">
                  Start again for a new key. The app’s entry for the old one will not work: delete it there.
                </p>
                <form method="post" action="/account/second-factor/totp">
                  <input type="hidden" name="_csrf" value={csrf} />
                  <button type="submit" class="quiet small">
                    Start again
                  </button>
                </form>
              </details>
            </div>
          </div>
        ) : (
          <>
            <h2 id="scan-h">1. Your authenticator app</h2>
            <p class="hint">If the app does not have the key yet, start again for a new QR code.</p>
            <form method="post" action="/account/second-factor/totp">
              <input type="hidden" name="_csrf" value={csrf} />
              <button type="submit" class="quiet small">
                Start again
              </button>
            </form>
          </>
        )}
      </section>
      <section class="card" aria-labelledby="confirm-h">
        <h2 id="confirm-h">2. Enter the code it shows</h2>
        {error ? (
          <div class="flash error" role="alert" id="enrol-error">
            {error}
          </div>
        ) : null}
        <form method="post" action="/account/second-factor/totp/confirm" class="short">
          <input type="hidden" name="_csrf" value={csrf} />
          <CodeInput required autofocus {...(error ? { describedBy: 'enrol-error' } : {})} />
          <div class="actions">
            <button type="submit">Turn on</button>
            {/* To /account: this page shows a set-up in progress until it is confirmed or expires. */}
            <a href="/account">Cancel</a>
          </div>
        </form>
      </section>
    </Layout>
  );
}

/**
 * The ten recovery codes, shown once (the store keeps only their hashes; every answer is
 * `Cache-Control: no-store`, so the Back button cannot bring them back).
 */
export function RecoveryCodesPage(props: Common & { codes: readonly string[]; fresh: boolean }) {
  const { user, csrf, codes, fresh } = props;
  return (
    <Layout title="Recovery codes" user={user} csrf={csrf} current="account">
      <h1>{fresh ? 'Two-step sign-in is on' : 'New recovery codes'}</h1>
      <section class="card" aria-labelledby="codes-h">
        <h2 id="codes-h">Your recovery codes</h2>
        <div class="flash warn" role="status">
          Save these codes now: this is the only time they are shown.
          {fresh ? '' : ' Your earlier codes no longer work.'}
        </div>
        <p>
          If you lose your phone, each code signs you in once instead of a code from the app. Keep them
          somewhere safe that is not your phone: a password manager, or printed on paper.
        </p>
        <ol class="codes" aria-label="Recovery codes">
          {codes.map((code) => (
            <li>
              <code>{code}</code>
            </li>
          ))}
        </ol>
        <div class="actions">
          <a class="button" href="/account/second-factor">
            Done, I saved them
          </a>
        </div>
      </section>
    </Layout>
  );
}
