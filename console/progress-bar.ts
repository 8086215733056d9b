// SPDX-License-Identifier: Apache-2.0
// A one-line text progress bar for long kiosk operations (forwarding hundreds of payments). It is
// drawn only on a TTY, redrawn in place with a carriage return; on a pipe or with --json nothing is
// drawn, so scripts see only results.

/** `[##########..........]  300/800  37%`; `width` is the number of cells between the brackets. */
export function renderProgressBar(done: number, total: number, width = 30): string {
  const d = Math.max(0, Math.min(done, total));
  const fraction = total > 0 ? d / total : 1;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(d).padStart(String(total).length)}/${total} ${String(Math.floor(fraction * 100)).padStart(3)}%`;
}

export interface ProgressSink {
  update(done: number, total: number): void;
  /** Ends the bar's line (if one was drawn). */
  end(): void;
}

/** A bar drawn on `out` when `isTTY`; otherwise one that draws nothing. */
export function progressSink(out: { write(s: string): unknown }, isTTY: boolean, label: string): ProgressSink {
  let drawn = false;
  return {
    update(done, total) {
      if (!isTTY) return;
      out.write(`\r${label} ${renderProgressBar(done, total)}`);
      drawn = true;
    },
    end() {
      if (drawn) out.write('\n');
      drawn = false;
    },
  };
}
