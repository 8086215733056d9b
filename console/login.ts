// SPDX-License-Identifier: Apache-2.0
// Where the console's broker login comes from, strongest first: the flags --url, --username and
// --password; then a login file (--login file.json holding {url, username, password}); then the
// environment KIOSKPAY_MQTT_URL, KIOSKPAY_MQTT_USERNAME, KIOSKPAY_MQTT_PASSWORD. Each field is
// taken from the first source that has it. A technician identity is expected (the broker's ACL
// decides what it may do).
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const consoleLoginSchema = z.strictObject({
  url: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\/.+/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL'),
  username: z.string().min(1).max(64),
  password: z.string().max(1024),
});
export type ConsoleLogin = z.infer<typeof consoleLoginSchema>;

/** Largest login file read, in bytes. */
const LOGIN_FILE_BYTES_MAX = 16 * 1024;

export class LoginError extends Error {
  override name = 'LoginError';
}

export interface LoginSources {
  flags: { url?: string | undefined; username?: string | undefined; password?: string | undefined; login?: string | undefined };
  env: NodeJS.ProcessEnv;
  readFile?: (path: string) => string;
}

/** Resolves the login or throws LoginError saying which field is missing or wrong. */
export function resolveLogin(s: LoginSources): ConsoleLogin {
  let file: Record<string, unknown> = {};
  if (s.flags.login !== undefined) {
    let text: string;
    try {
      text = (s.readFile ?? ((p) => readFileSync(p, 'utf8')))(s.flags.login);
    } catch (e) {
      throw new LoginError(
        `cannot read login file ${s.flags.login}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; check the path given to --login (kioskpay up writes DATA/up/technician.json)`,
      );
    }
    if (text.length > LOGIN_FILE_BYTES_MAX)
      throw new LoginError(`login file ${s.flags.login} is larger than ${LOGIN_FILE_BYTES_MAX} bytes; is --login the right file?`);
    try {
      const json = JSON.parse(text) as unknown;
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
      file = json as Record<string, unknown>;
    } catch (e) {
      throw new LoginError(
        `login file ${s.flags.login} is not a JSON object {url, username, password} (${(e as Error).message}); fix the file, or give --url, --username and --password`,
      );
    }
  }
  const sources: Record<string, string> = {};
  const pick = (flag: string | undefined, key: string, envName: string) => {
    sources[key] = flag !== undefined ? `--${key}` : file[key] !== undefined ? `"${key}" in the login file ${s.flags.login}` : envName;
    return flag ?? file[key] ?? s.env[envName];
  };
  const candidate = {
    url: pick(s.flags.url, 'url', 'KIOSKPAY_MQTT_URL'),
    username: pick(s.flags.username, 'username', 'KIOSKPAY_MQTT_USERNAME'),
    password: pick(s.flags.password, 'password', 'KIOSKPAY_MQTT_PASSWORD') ?? '',
  };
  const parsed = consoleLoginSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = String(issue.path[0] ?? 'login');
  const where =
    {
      url: '--url or KIOSKPAY_MQTT_URL',
      username: '--username or KIOSKPAY_MQTT_USERNAME',
      password: '--password or KIOSKPAY_MQTT_PASSWORD',
    }[field] ?? '--login';
  const missing = (candidate as Record<string, unknown>)[field] === undefined;
  throw new LoginError(
    missing
      ? `no broker ${field}: give ${where} (or --login file.json; kioskpay up writes DATA/up/technician.json)`
      : `broker ${field} from ${sources[field] ?? '--login'}: ${issue.message}; fix it there, or give ${where.split(' or ')[0]}`,
  );
}
