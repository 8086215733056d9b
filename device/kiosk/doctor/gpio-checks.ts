// SPDX-License-Identifier: Apache-2.0
// `kioskpay kiosk doctor`: the GPIO checks. Read-only: runs gpiodetect, gpioinfo and
// `gpioset --version` (never gpioget or gpiomon, which would request lines) and reads sysfs and
// config.txt under env.root. One result per thing looked at, each warn/fail with its fix.
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buttonPins, buttonsBias } from '../../adapters/gpio/gpio.ts';
import { detectGpiodVersion, findGpiodChip, parseGpiodetect, runTool, type GpiodVersion } from '../../adapters/gpio/gpiod-lines.ts';
import { findGpioBase } from '../../adapters/gpio/sysfs-lines.ts';
import type { GpioBias } from '../../adapters/gpio/lines.ts';
import type { CheckResult, DoctorCheck, DoctorEnv } from './check.ts';

const INSTALL = 'sudo apt install gpiod';

async function tool(env: Readonly<DoctorEnv>, name: string): Promise<string> {
  for (const dir of env.toolPath ?? []) {
    const p = join(dir, name);
    if (
      await access(p).then(
        () => true,
        () => false,
      )
    )
      return p;
  }
  return name;
}

export interface LineUse {
  used: boolean;
  consumer?: string;
}

/** Parses `gpioinfo` rows of one chip (v1 and v2 formats) into offset -> use. Pure. */
export function parseGpioinfo(text: string): Map<number, LineUse> {
  const out = new Map<number, LineUse>();
  for (const row of text.split('\n')) {
    const m = /^\s*line\s+(\d+):\s*(.*)$/.exec(row);
    if (!m) continue;
    const rest = m[2]!;
    // v1: NAME CONSUMER DIRECTION ..., CONSUMER being "name", unused or kernel.
    const v1 = /^(?:"[^"]*"|unnamed)\s+("([^"]*)"|unused|kernel)\s+(?:input|output)\b/.exec(rest);
    if (v1) {
      out.set(Number(m[1]), v1[1] === 'unused' ? { used: false } : { used: true, consumer: v1[2] ?? v1[1]! });
      continue;
    }
    // v2: NAME<tab>DIRECTION [attributes] [consumer="name"]
    const v2 = /\bconsumer=(?:"([^"]*)"|(\S+))/.exec(rest);
    out.set(Number(m[1]), v2 ? { used: true, consumer: v2[1] ?? v2[2]! } : { used: false });
  }
  return out;
}

const PULL_CODE: Partial<Record<GpioBias, string>> = { 'pull-up': 'pu', 'pull-down': 'pd', disable: 'pn' };

/** The config.txt line that gives `pins` the pull `bias` at boot, e.g. gpio=20,21,26=ip,pu. */
export function configTxtLine(pins: readonly number[], bias: GpioBias): string | undefined {
  const code = PULL_CODE[bias];
  return code ? `gpio=${[...pins].sort((a, b) => a - b).join(',')}=ip,${code}` : undefined;
}

/** Pins that config.txt's `gpio=` lines set to input with the pull code `code`. Pure. */
export function pinsPulledInConfigTxt(text: string, code: string): Set<number> {
  const pins = new Set<number>();
  for (const raw of text.split('\n')) {
    const m = /^\s*gpio\s*=\s*([\d,\s-]+)=(.*)$/.exec(raw.replace(/#.*/, ''));
    if (!m) continue;
    const opts = m[2]!.split(',').map((o) => o.trim());
    if (!opts.includes('ip') || !opts.includes(code)) continue;
    for (const part of m[1]!.split(',')) {
      const [a, b] = part.trim().split('-').map(Number);
      if (a === undefined || !Number.isInteger(a)) continue;
      for (let p = a; p <= (b !== undefined && Number.isInteger(b) ? b : a); p++) pins.add(p);
    }
  }
  return pins;
}

async function readConfigTxt(root: string): Promise<{ path: string; text: string } | undefined> {
  for (const p of ['boot/firmware/config.txt', 'boot/config.txt']) {
    const text = await readFile(join(root, p), 'utf8').catch(() => undefined);
    if (text !== undefined) return { path: `/${p}`, text };
  }
  return undefined;
}

async function biasCheck(backend: 'gpiod' | 'sysfs', pins: number[], bias: GpioBias, root: string): Promise<CheckResult> {
  const id = 'gpio.bias';
  if (bias === 'as-is') return { id, title: 'Button bias left as it is (buttonsBias "as-is")', status: 'skip' };
  if (backend === 'gpiod') {
    return {
      id,
      title: `Button bias ${bias} is set by libgpiod when the kiosk requests the lines`,
      status: 'pass',
      detail: `BCM ${pins.join(', ')}`,
    };
  }
  const want = configTxtLine(pins, bias)!;
  const cfg = await readConfigTxt(root);
  const fix = `sysfs cannot set a pull: add the line "${want}" to /boot/firmware/config.txt and reboot (or use the gpiod backend)`;
  if (!cfg)
    return {
      id,
      title: 'Button bias: config.txt not found',
      status: 'warn',
      detail: 'looked for /boot/firmware/config.txt and /boot/config.txt',
      fix,
    };
  const have = pinsPulledInConfigTxt(cfg.text, PULL_CODE[bias]!);
  const missing = pins.filter((p) => !have.has(p));
  if (missing.length === 0) return { id, title: `Button bias ${bias} set at boot by ${cfg.path}`, status: 'pass', detail: want };
  return {
    id,
    title: `Button bias ${bias} is not set for BCM ${missing.join(', ')}`,
    status: 'warn',
    detail: `${cfg.path} has no gpio= line giving them ${PULL_CODE[bias]}; buttons without a pull float`,
    fix,
  };
}

async function lineChecks(
  env: Readonly<DoctorEnv>,
  version: GpiodVersion,
  chip: string,
  pins: readonly [string, number][],
): Promise<CheckResult[]> {
  const gpioinfo = await tool(env, 'gpioinfo');
  const args = version === 1 ? [chip] : ['-c', chip];
  let info: Map<number, LineUse>;
  try {
    const r = await runTool(gpioinfo, args, env.probeTimeoutMs);
    if (r.code !== 0) throw new Error(r.stderr.trim() || `exit ${r.code}`);
    info = parseGpioinfo(r.stdout);
  } catch (err) {
    return [
      {
        id: 'gpio.lines',
        title: 'Cannot list GPIO line use',
        status: 'warn',
        detail: `${gpioinfo} ${args.join(' ')}: ${(err as Error).message}`,
        fix: INSTALL,
      },
    ];
  }
  return pins.map(([role, bcm]): CheckResult => {
    const id = `gpio.line.${bcm}`;
    const use = info.get(bcm);
    if (!use)
      return {
        id,
        title: `BCM ${bcm} (${role}) not found on ${chip}`,
        status: 'fail',
        fix: 'check the pin map in the kiosk config (BCM numbers 0-27)',
      };
    if (!use.used) return { id, title: `BCM ${bcm} (${role}) is free`, status: 'pass' };
    const tool = ['gpiomon', 'gpioset', 'gpioget'].includes(use.consumer ?? '');
    return {
      id,
      title: `BCM ${bcm} (${role}) is used by "${use.consumer}"`,
      status: tool ? 'warn' : 'fail',
      detail: tool ? 'a libgpiod tool holds it: the running kiosk itself, or a leftover process' : 'a driver or another program holds it',
      fix: tool
        ? 'run the doctor with the kiosk stopped (sudo systemctl stop kioskpay-kiosk); kill any leftover gpiomon/gpioset'
        : `free it (remove the dtoverlay or stop the program using BCM ${bcm}) or move ${role} to another pin`,
    };
  });
}

function rolesOf(cfg: {
  pins: {
    leds: { ready: number; offline: number; fault: number };
    buzzer: number;
    relay: number;
    buttons: { cancel: number; help: number; pay?: number | undefined };
    slots: number[];
  };
}): [string, number][] {
  const p = cfg.pins;
  return [
    ['led ready', p.leds.ready],
    ['led offline', p.leds.offline],
    ['led fault', p.leds.fault],
    ['buzzer', p.buzzer],
    ['relay', p.relay],
    ['cancel button', p.buttons.cancel],
    ['help button', p.buttons.help],
    ...(p.buttons.pay === undefined ? [] : ([['pay button', p.buttons.pay]] as [string, number][])),
    ...p.slots.map((b, i): [string, number] => [`slot ${i} button`, b]),
  ];
}

export const gpioChecks: DoctorCheck = async (cfg, env) => {
  const g = cfg.gpio;
  if (g.backend === 'sim' || g.backend === 'none') {
    return [{ id: 'gpio.backend', title: `GPIO backend "${g.backend}": no hardware to check`, status: 'skip' }];
  }
  const results: CheckResult[] = [];
  const bias = buttonsBias(g);
  const buttons = buttonPins(g.pins);

  // libgpiod: needed by the gpiod backend, and used to list line use for either backend.
  let version: GpiodVersion | undefined;
  try {
    version = await detectGpiodVersion(await tool(env, 'gpioset'), env.probeTimeoutMs);
    results.push({
      id: 'gpio.libgpiod',
      title: `libgpiod ${version === 1 ? '1.x (Bookworm)' : '2.x (Trixie)'} tools installed`,
      status: 'pass',
    });
  } catch (err) {
    results.push({
      id: 'gpio.libgpiod',
      title: 'libgpiod tools not found',
      status: g.backend === 'gpiod' ? 'fail' : 'warn',
      detail: (err as Error).message,
      fix: INSTALL,
    });
  }

  let chip: string | undefined;
  if (g.backend === 'gpiod') {
    try {
      if (g.chip !== undefined) {
        const r = await runTool(await tool(env, 'gpiodetect'), [], env.probeTimeoutMs);
        const found = parseGpiodetect(r.stdout).find(
          (c) => c.name === g.chip || `/dev/${c.name}` === g.chip || c.name === `gpiochip${g.chip}`,
        );
        if (!found)
          throw new Error(`configured gpio.chip "${g.chip}" is not among: ${r.stdout.trim().split('\n').join('; ') || 'no chips'}`);
        chip = found.name;
        results.push({ id: 'gpio.chip', title: `GPIO chip ${found.label} is ${found.name} (configured)`, status: 'pass' });
      } else {
        const found = await findGpiodChip(await tool(env, 'gpiodetect'), env.probeTimeoutMs);
        chip = found.name;
        results.push({
          id: 'gpio.chip',
          title: `GPIO chip ${found.label} found as ${found.name}`,
          status: 'pass',
          detail: `${found.lines} lines`,
        });
      }
    } catch (err) {
      results.push({
        id: 'gpio.chip',
        title: 'Raspberry Pi GPIO chip not found',
        status: 'fail',
        detail: (err as Error).message,
        fix: 'remove gpio.chip from the kiosk config to find it by label, or run gpiodetect and set the right one',
      });
    }
  } else {
    try {
      const found = await findGpioBase(join(env.root, 'sys'));
      results.push({
        id: 'gpio.chip',
        title: `GPIO chip ${found.label} found at sysfs base ${found.base}`,
        status: 'pass',
        detail: found.name,
      });
      if (version !== undefined)
        chip = (await findGpiodChip(await tool(env, 'gpiodetect'), env.probeTimeoutMs).catch(() => undefined))?.name;
    } catch (err) {
      results.push({
        id: 'gpio.chip',
        title: 'sysfs GPIO controller not found',
        status: 'fail',
        detail: (err as Error).message,
        fix: 'use "backend": "gpiod" (sudo apt install gpiod); this kernel may have no /sys/class/gpio',
      });
    }
  }

  if (version !== undefined && chip !== undefined) results.push(...(await lineChecks(env, version, chip, rolesOf(g))));
  else results.push({ id: 'gpio.lines', title: 'Line use not checked (needs the libgpiod tools and the chip)', status: 'skip' });

  results.push(await biasCheck(g.backend, buttons, bias, env.root));
  return results;
};
