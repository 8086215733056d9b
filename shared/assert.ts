// SPDX-License-Identifier: Apache-2.0
/** Programmer errors crash loudly; operating errors are typed values (see errors.ts). */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

export function assertUnreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
