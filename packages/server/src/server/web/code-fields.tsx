/**
 * The fields of a second factor, shared by the sign-in step, re-authentication and turning the
 * factor off: a six-digit code from the authenticator app, and behind a `<details>` (no script
 * needed to open it) a recovery code instead.
 */

/**
 * The authenticator code field. `inputmode="numeric"` brings up the digit keyboard on a phone;
 * `autocomplete="one-time-code"` lets the browser or the OS offer a code it knows of (HTML
 * Living Standard, autofill field names). No `pattern`: apps show "123 456", and the library
 * accepts that spacing.
 */
export function CodeInput(props: {
  id?: string;
  required?: boolean;
  autofocus?: boolean;
  describedBy?: string;
}) {
  const id = props.id ?? 'code';
  return (
    <>
      <label for={id}>Code from your authenticator app</label>
      <input
        id={id}
        name="code"
        type="text"
        inputmode="numeric"
        autocomplete="one-time-code"
        autocapitalize="none"
        spellcheck={false}
        maxlength={12}
        class="code"
        required={props.required ?? false}
        autofocus={props.autofocus ?? false}
        aria-describedby={props.describedBy}
      />
    </>
  );
}

/** A recovery code field (one of the ten codes shown at enrolment; each works once). */
export function RecoveryCodeInput(props: { id?: string; required?: boolean }) {
  const id = props.id ?? 'recoveryCode';
  return (
    <>
      <label for={id}>Recovery code</label>
      <input
        id={id}
        name="recoveryCode"
        type="text"
        autocomplete="off"
        autocapitalize="none"
        spellcheck={false}
        maxlength={40}
        class="code"
        required={props.required ?? false}
      />
      <p class="hint">Each recovery code works once.</p>
    </>
  );
}

/**
 * Code and recovery code in one form (re-authentication, turning the factor off): the code is
 * then optional in the browser, and the server wants one of the two.
 */
export function SecondFactorFields(props: { idPrefix?: string; autofocus?: boolean }) {
  const prefix = props.idPrefix ?? '';
  return (
    <>
      <CodeInput id={`${prefix}code`} autofocus={props.autofocus ?? false} />
      <details class="alt">
        <summary>Lost your authenticator? Use a recovery code</summary>
        <RecoveryCodeInput id={`${prefix}recoveryCode`} />
      </details>
    </>
  );
}
