// SPDX-License-Identifier: Apache-2.0
// Which GPIO controller drives the Raspberry Pi's 40-pin header, by label. Chip numbers are not
// stable (a Pi 5 had the header on gpiochip4 before kernel 6.6.45 and on gpiochip0 after; sysfs bases
// moved to 512+ on kernel 6.6), labels are. Both backends (sysfs-lines.ts, gpiod-lines.ts) and the
// doctor pick the chip with this list.

/** Labels of the header's GPIO controller, best first: Pi 5 (RP1), Pi 4, Pi 1-3 and Zero. */
export const MAIN_GPIO_LABELS: readonly string[] = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'];

/** Picks the chip of the header's controller among `chips`, or undefined. Pure. */
export function chooseMainChip<C extends { readonly label: string }>(chips: readonly C[]): C | undefined {
  for (const label of MAIN_GPIO_LABELS) {
    const found = chips.find((c) => c.label === label);
    if (found) return found;
  }
  return undefined;
}
