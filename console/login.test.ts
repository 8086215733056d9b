// SPDX-License-Identifier: Apache-2.0
// Where the console's login comes from: flags, then the --login file, then the environment.
import { describe, expect, it } from 'vitest';
import { LoginError, resolveLogin } from './login.ts';

const env = { KIOSKPAY_MQTT_URL: 'mqtt://env:1884', KIOSKPAY_MQTT_USERNAME: 'env-user', KIOSKPAY_MQTT_PASSWORD: 'env-pw' };
const file = (text: string) => () => text;

describe('resolveLogin', () => {
  it('takes each field from the strongest source that has it', () => {
    expect(resolveLogin({ flags: {}, env })).toEqual({ url: 'mqtt://env:1884', username: 'env-user', password: 'env-pw' });
    expect(resolveLogin({ flags: { login: 'l.json' }, env, readFile: file('{"url":"mqtts://file:8883","username":"file-user"}') })).toEqual(
      { url: 'mqtts://file:8883', username: 'file-user', password: 'env-pw' },
    );
    expect(
      resolveLogin({
        flags: { login: 'l.json', username: 'flag-user' },
        env,
        readFile: file('{"url":"mqtt://file:1","username":"u","password":"p"}'),
      }),
    ).toEqual({ url: 'mqtt://file:1', username: 'flag-user', password: 'p' });
  });

  it('says which field is missing or wrong, and where to fix it', () => {
    expect(() => resolveLogin({ flags: {}, env: {} })).toThrow(
      new LoginError('no broker url: give --url or KIOSKPAY_MQTT_URL (or --login file.json; kioskpay up writes DATA/up/technician.json)'),
    );
    expect(() => resolveLogin({ flags: { url: 'http://x' }, env: {} })).toThrow(
      'broker url from --url: must be an mqtt://, mqtts://, ws:// or wss:// URL; fix it there, or give --url',
    );
    expect(() => resolveLogin({ flags: { login: 'l.json' }, env, readFile: file('{"url":"http://x"}') })).toThrow(
      'broker url from "url" in the login file l.json: must be',
    );
    expect(() => resolveLogin({ flags: {}, env: { ...env, KIOSKPAY_MQTT_URL: 'localhost:1884' } })).toThrow(
      'broker url from KIOSKPAY_MQTT_URL: must be',
    );
    expect(() => resolveLogin({ flags: { url: 'mqtt://x' }, env: {} })).toThrow(/no broker username/);
    expect(() => resolveLogin({ flags: { login: 'l.json' }, env, readFile: file('[1]') })).toThrow(/not a JSON object/);
    expect(() =>
      resolveLogin({
        flags: { login: 'l.json' },
        env,
        readFile: () => {
          throw Object.assign(new Error('x'), { code: 'ENOENT' });
        },
      }),
    ).toThrow('cannot read login file l.json: ENOENT; check the path given to --login');
  });
});
