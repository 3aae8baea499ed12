import type { AccountFailure } from 'cloakroom';
import type { CloakroomEnv } from 'cloakroom/hono';
import { listPasskeys, removePasskey, renamePasskey } from 'cloakroom/passkeys';
import type { Context } from 'hono';
import { readInput } from '../../http/body.js';
import type { App, ServerDeps } from '../../http/context.js';
import { accountStatus } from '../../http/errors.js';
import { type Flash, setFlash, takeFlash } from '../flash.js';
import { pageRecent, pageUser, toReauth } from '../guards.js';
import { describeDevice, formText } from '../helpers.js';
import { allowPasskeyScript } from '../passkey-ui.js';
import { PASSKEYS_PAGE, PasskeysPage } from './page.js';

/** How long after it was made a passkey is announced as the one just added. */
const JUST_ADDED_MS = 10 * 60_000;

/**
 * /account/passkeys: the list, rename, remove (plain forms) and the page the module adds a
 * passkey from. Not mounted while passkeys are off: the address is then a 404 like any other.
 * The rules (names, the re-auth window for removal, the recovery codes of a last passkey) are
 * the account actions'; these handlers translate.
 */
export function passkeyPages(app: App, deps: ServerDeps): void {
  if (deps.config.passkeys === null) return;
  const { sessions, account, clock } = deps;
  app.use(PASSKEYS_PAGE, pageUser());
  app.use(`${PASSKEYS_PAGE}/:id/rename`, pageUser());
  app.use(`${PASSKEYS_PAGE}/:id/remove`, pageUser(), pageRecent(deps, PASSKEYS_PAGE));

  const render = async (c: Context<CloakroomEnv>, refusal?: AccountFailure) => {
    const user = c.get('user')!;
    const session = c.get('session')!;
    const passkeys = await listPasskeys(account, user.id);
    const now = clock.now();
    allowPasskeyScript(c);
    return c.html(
      <PasskeysPage
        user={user}
        csrf={sessions.csrfToken(session)}
        passkeys={passkeys}
        now={now}
        flash={refusal ? null : (takeFlash(c) ?? added(c, passkeys, now))}
        error={refusal?.message ?? null}
        recent={sessions.isRecent(session)}
        suggestedName={describeDevice(c.req.header('user-agent') ?? null).slice(0, 64)}
      />,
      refusal ? accountStatus(refusal) : 200,
    );
  };

  app.get(PASSKEYS_PAGE, (c) => render(c));

  app.post(`${PASSKEYS_PAGE}/:id/rename`, async (c) => {
    const { fields } = await readInput(c);
    const result = await renamePasskey(
      account,
      c.get('user')!.id,
      c.req.param('id'),
      formText(fields, 'name'),
    );
    if (!result.ok) {
      if (result.error !== 'not_found') return render(c, result);
      setFlash(c, 'passkey-missing');
    } else setFlash(c, 'passkey-renamed');
    return c.redirect(PASSKEYS_PAGE, 303);
  });

  app.post(`${PASSKEYS_PAGE}/:id/remove`, async (c) => {
    const result = await removePasskey(account, c.get('session')!, c.req.param('id'));
    if (!result.ok) {
      if (result.error === 'reauth_required') return toReauth(c, PASSKEYS_PAGE);
      if (result.error !== 'not_found') return render(c, result);
      setFlash(c, 'passkey-missing');
    } else setFlash(c, 'passkey-removed');
    return c.redirect(PASSKEYS_PAGE, 303);
  });
}

/**
 * After the module added one (`?added=1`): says which, by name, if the newest passkey is indeed
 * that recent; a link with `?added=1` alone announces nothing.
 */
function added(c: Context, passkeys: { name: string; createdAt: number }[], now: number): Flash | null {
  if (c.req.query('added') !== '1') return null;
  const newest = passkeys.reduce<(typeof passkeys)[number] | null>(
    (a, b) => (a === null || b.createdAt > a.createdAt ? b : a),
    null,
  );
  if (!newest || now - newest.createdAt > JUST_ADDED_MS) return null;
  return { kind: 'ok', text: `Passkey “${newest.name}” added. It can sign you in from now on.` };
}
