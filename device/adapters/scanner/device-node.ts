// SPDX-License-Identifier: Apache-2.0
// Whether a device node is there, and which node it is, so a watchdog can notice an unplug that the
// device itself never reported (the node vanished, or a new device took its /dev/.../by-id name).
import { stat } from 'node:fs/promises';

/** `{ present: false }` missing; `{ present: true, id }` there; null when it could not be told. */
export type NodeState = { present: false } | { present: true; id: string } | null;

export type NodeStateFn = (path: string) => Promise<NodeState>;

const MISSING = new Set(['ENOENT', 'ENOTDIR', 'ENODEV', 'ENXIO']);

/** stat() through symlinks; the id is device, inode and device number of the node itself. */
export const nodeState: NodeStateFn = async (path) => {
  try {
    const s = await stat(path);
    return { present: true, id: `${s.dev}:${s.ino}:${s.rdev}` };
  } catch (e) {
    return MISSING.has((e as NodeJS.ErrnoException).code ?? '') ? { present: false } : null;
  }
};
