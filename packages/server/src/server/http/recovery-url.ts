import { type IncomingRequest, ownOrigin } from 'cloakroom';

/** The page a recovery link opens (web/recover). */
export const RECOVER_PATH = '/recover';

/**
 * The path of a recovery link, `/recover?token=…`. The token is base64url today; it is encoded
 * anyway, so a change of alphabet can never turn into a broken or truncated link.
 */
export function recoveryPath(token: string): string {
  return `${RECOVER_PATH}?token=${encodeURIComponent(token)}`;
}

/**
 * The whole recovery link on `origin` (`CLOAKROOM_PUBLIC_URL`, already reduced to an origin by
 * the configuration), or `null` when there is none to put in front of the path.
 */
export function recoveryUrl(origin: string | null, token: string): string | null {
  return origin === null ? null : `${origin}${recoveryPath(token)}`;
}

/**
 * The link shown to an admin who issued it (page or API): on `CLOAKROOM_PUBLIC_URL`, or else on
 * the origin the admin's own request came to (their address bar), where the user reaches us too.
 */
export function recoveryLinkFor(publicUrl: string | null, request: IncomingRequest, token: string): string {
  return `${publicUrl ?? ownOrigin(request) ?? ''}${recoveryPath(token)}`;
}
