// SPDX-License-Identifier: Apache-2.0
// The deployment time zone as server configuration: the file key, the --time-zone flag, the
// machine's zone when unset, and the refusal of the key it replaced.
import { describe, expect, it } from 'vitest';
import { machineTimeZone } from '../shared/time-zone.ts';
import { deploymentTimeZone, parseServerConfig } from './config.ts';
import { serverConfigFromArgs } from './main.ts';

const T = Date.UTC(2026, 10, 28, 12, 0, 0); // 21:00 in Tokyo

describe('the deployment time zone in the server config', () => {
  it("takes an IANA name or an offset from the file or --time-zone, and is the machine's when unset", () => {
    expect(deploymentTimeZone(parseServerConfig({ timeZone: 'Europe/Paris' })).name).toBe('Europe/Paris');
    expect(deploymentTimeZone(parseServerConfig({})).name).toBe(machineTimeZone());
    const fromFlag = serverConfigFromArgs(['--time-zone', '+05:30'], {});
    expect(fromFlag !== 'help' && deploymentTimeZone(fromFlag).iso(T)).toBe('2026-11-28T17:30:00+05:30');
  });

  it('refuses a zone it does not know, and the old ops.utcOffset with the key that replaced it', () => {
    expect(() => parseServerConfig({ timeZone: 'Tokio' })).toThrow(/IANA time zone such as Asia\/Tokyo/);
    expect(() => parseServerConfig({ ops: { utcOffset: '+09:00' } })).toThrow(/ops.utcOffset is replaced by the top-level timeZone/);
  });
});
