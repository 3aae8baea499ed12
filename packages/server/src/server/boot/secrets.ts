import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, MAX_SECRETS, secretWeakness } from 'cloakroom';

/** The process environment, or a test's stand-in for it. */
export type Env = Record<string, string | undefined>;

/** Where the keyring came from, for the start-up line (never the secrets themselves). */
export type SecretsSource =
  | 'CLOAKROOM_SECRETS'
  | 'CLOAKROOM_SECRETS_FILE'
  | 'generated'
  | 'data-dir'
  | 'none';

function fail(variable: string, message: string): never {
  throw new ConfigError(variable, message);
}

const SECRET_FILE = 'secret';

function checkSecrets(secrets: string[], variable: string): string[] {
  if (secrets.length === 0) fail(variable, 'holds no secret; generate one with `npx cloakroom secret new`');
  if (secrets.length > MAX_SECRETS) fail(variable, `holds ${secrets.length} secrets; at most ${MAX_SECRETS}`);
  secrets.forEach((secret, i) => {
    const weakness = secretWeakness(secret);
    if (weakness)
      fail(variable, `secret #${i + 1} ${weakness}; generate one with \`npx cloakroom secret new\``);
  });
  return secrets;
}

/** The keyring from CLOAKROOM_SECRETS, CLOAKROOM_SECRETS_FILE or the data dir (development). */
export function loadSecrets(
  env: Env,
  production: boolean,
  dataDir: string,
): { secrets: string[]; source: SecretsSource } {
  if (env.CLOAKROOM_SECRETS && env.CLOAKROOM_SECRETS_FILE) {
    fail('CLOAKROOM_SECRETS_FILE', 'set either CLOAKROOM_SECRETS or CLOAKROOM_SECRETS_FILE, not both');
  }
  if (env.CLOAKROOM_SECRETS) {
    const list = env.CLOAKROOM_SECRETS.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return { secrets: checkSecrets(list, 'CLOAKROOM_SECRETS'), source: 'CLOAKROOM_SECRETS' };
  }
  if (env.CLOAKROOM_SECRETS_FILE) {
    let text: string;
    try {
      text = readFileSync(env.CLOAKROOM_SECRETS_FILE, 'utf8');
    } catch {
      return fail('CLOAKROOM_SECRETS_FILE', `cannot read ${env.CLOAKROOM_SECRETS_FILE}`);
    }
    const list = text
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter((s) => s && !s.startsWith('#'));
    return { secrets: checkSecrets(list, 'CLOAKROOM_SECRETS_FILE'), source: 'CLOAKROOM_SECRETS_FILE' };
  }
  if (production) {
    fail(
      'CLOAKROOM_SECRETS',
      'is required when NODE_ENV=production; generate one with `npx cloakroom secret new`',
    );
  }
  // Development: one secret generated into the data dir, reused on every start, so sessions
  // survive restarts without anyone handling a secret.
  const file = join(dataDir, SECRET_FILE);
  if (existsSync(file)) {
    const list = readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter(Boolean);
    return { secrets: checkSecrets(list, file), source: 'data-dir' };
  }
  const secret = randomBytes(32).toString('base64url');
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return fail('CLOAKROOM_DATA_DIR', `cannot write the development secret to ${file} (${code})`);
  }
  return { secrets: [secret], source: 'generated' };
}
