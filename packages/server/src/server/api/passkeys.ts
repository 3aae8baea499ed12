import type { AccountFailure } from 'cloakroom';
import {
  beginPasskeyReauth,
  beginPasskeyRegistration,
  beginPasskeySecondFactor,
  beginPasskeySignIn,
  finishPasskeyReauth,
  finishPasskeyRegistration,
  finishPasskeySecondFactor,
  finishPasskeySignIn,
  listPasskeys,
  type PasskeyInfo,
  removePasskey,
  renamePasskey,
} from 'cloakroom/passkeys';
import type { Context } from 'hono';
import { booleanField, readInput } from '../http/body.js';
import type { App, ServerDeps } from '../http/context.js';
import { accepted, accountApiError } from '../http/errors.js';
import { loginCsrfInput } from '../http/login-csrf.js';
import { passkeyIdParam } from '../http/params.js';
import { checkAuthentication, checkRegistration, jsonInput, optionalInput } from '../http/passkey-input.js';

/*
 * Passkeys (WebAuthn) over the JSON API: every ceremony is a begin (`…/options`: the options for
 * `navigator.credentials.create()`/`.get()`, their challenge stored in the shared counter store)
 * and a finish (the browser's `credential.toJSON()` as `response`). The rules — single-use
 * challenges bound to a session, pending sign-in or ceremony cookie; signature, origin, RP ID,
 * user verification, counters; the audit — live in `cloakroom/passkeys`; these handlers check
 * the body's shape, call the use case and translate its answer. Mounted only when passkeys are
 * on (`config.passkeys`): otherwise every route below is the 404 of an unknown route.
 */

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A passkey as the API shows it: never the key or the counter. */
const passkeyJson = (info: PasskeyInfo) => ({
  id: info.id,
  name: info.name,
  createdAt: iso(info.createdAt),
  lastUsedAt: iso(info.lastUsedAt),
  backedUp: info.backedUp,
  deviceType: info.deviceType,
});

/**
 * A registration's refusal: `400` for a response that does not verify or a used challenge (the
 * user is signed in: nothing about their sign-in failed, unlike the 401 of the sign-in steps);
 * the usual answer for everything else.
 */
function registrationRefusal(c: Context, failure: AccountFailure) {
  if (failure.error === 'invalid_passkey' || failure.error === 'ceremony_expired')
    return c.json({ error: failure.error, message: failure.message }, 400);
  throw accountApiError(failure);
}

/** The sign-in steps: before the session CSRF guard (they replace whatever session came along). */
export function passkeyLoginRoutes(app: App, deps: ServerDeps): void {
  const { auth, metrics, account } = deps;
  if (!account.passkeys) return;

  app.post('/api/login/passkey/options', async (c) => {
    const req = c.get('cloakroomRequest');
    await loginCsrfInput(deps, req, c, 'login.passkey', optionalInput);
    const { options, setCookie } = accepted(await beginPasskeySignIn(account, req));
    auth.setCookies(c, setCookie);
    return c.json({ options });
  });

  app.post('/api/login/passkey', async (c) => {
    const req = c.get('cloakroomRequest');
    const input = await jsonInput(c, await loginCsrfInput(deps, req, c, 'login.passkey'));
    checkAuthentication(input);
    const remember = booleanField(input, 'remember');
    const result = await finishPasskeySignIn(account, req, { response: input.fields.response, remember });
    metrics.logins.inc({ outcome: result.ok ? 'success' : result.error });
    const { user, issued } = accepted(result);
    auth.adopt(c, issued);
    return c.json({ user, csrfToken: issued.csrfToken });
  });

  app.post('/api/login/second-factor/passkey/options', async (c) => {
    const req = c.get('cloakroomRequest');
    await loginCsrfInput(deps, req, c, 'login.second-factor', optionalInput);
    const { options } = accepted(await beginPasskeySecondFactor(account, req));
    return c.json({ options });
  });

  app.post('/api/login/second-factor/passkey', async (c) => {
    const req = c.get('cloakroomRequest');
    const input = await jsonInput(c, await loginCsrfInput(deps, req, c, 'login.second-factor'));
    checkAuthentication(input);
    const result = await finishPasskeySecondFactor(account, req, { response: input.fields.response });
    metrics.logins.inc({ outcome: result.ok ? 'success' : result.error });
    const { user, issued } = accepted(result);
    auth.adopt(c, issued);
    return c.json({ user, csrfToken: issued.csrfToken });
  });
}

/** Re-authentication and the user's passkeys: after the session CSRF guard. */
export function passkeyAccountRoutes(app: App, deps: ServerDeps): void {
  const { auth, account } = deps;
  if (!account.passkeys) return;

  app.post('/api/reauth/passkey/options', auth.requireUser(), async (c) => {
    await optionalInput(c);
    const { options } = accepted(
      await beginPasskeyReauth(account, c.get('cloakroomRequest'), c.get('session')!),
    );
    return c.json({ options });
  });

  app.post('/api/reauth/passkey', auth.requireUser(), async (c) => {
    const input = await jsonInput(c);
    checkAuthentication(input);
    const { issued } = accepted(
      await finishPasskeyReauth(account, c.get('cloakroomRequest'), c.get('session')!, {
        response: input.fields.response,
      }),
    );
    auth.adopt(c, issued);
    return c.json({ csrfToken: issued.csrfToken });
  });

  app.get('/api/account/passkeys', auth.requireUser(), async (c) => {
    const list = await listPasskeys(account, c.get('user')!.id);
    return c.json({ passkeys: list.map(passkeyJson) });
  });

  app.post('/api/account/passkeys/options', auth.requireUser(), async (c) => {
    await optionalInput(c);
    const { options } = accepted(
      await beginPasskeyRegistration(account, c.get('cloakroomRequest'), c.get('session')!),
    );
    return c.json({ options });
  });

  app.post('/api/account/passkeys', auth.requireUser(), async (c) => {
    const input = await jsonInput(c);
    checkRegistration(input);
    const result = await finishPasskeyRegistration(account, c.get('cloakroomRequest'), c.get('session')!, {
      response: input.fields.response,
      name: input.fields.name,
    });
    if (!result.ok) return registrationRefusal(c, result);
    return c.json({ passkey: passkeyJson(result.passkey), recoveryCodes: result.recoveryCodes }, 201);
  });

  app.patch('/api/account/passkeys/:id', auth.requireUser(), async (c) => {
    const id = passkeyIdParam(c);
    const input = await readInput(c);
    const { passkey } = accepted(await renamePasskey(account, c.get('user')!.id, id, input.fields.name));
    return c.json({ passkey: passkeyJson(passkey) });
  });

  app.delete('/api/account/passkeys/:id', auth.requireUser(), async (c) => {
    const id = passkeyIdParam(c);
    accepted(await removePasskey(account, c.get('session')!, id));
    return c.body(null, 204);
  });
}
