// SPDX-License-Identifier: Apache-2.0
// The serialport binding types, from one place. @serialport/bindings-interface (and binding-mock)
// publish type declarations only for their CommonJS entries, which an ESM module under NodeNext
// reaches only with `resolution-mode: 'require'`; the import-type form below says so without an
// attribute on an `import type` statement, which not every tool parses.
export type BindingInterface<
  T extends BindingPortInterface = BindingPortInterface,
  R extends OpenOptions = OpenOptions,
  P extends PortInfo = PortInfo,
> = import('@serialport/bindings-interface', { with: { 'resolution-mode': 'require' }}).BindingInterface<T, R, P>;
export type BindingPortInterface = import('@serialport/bindings-interface', { with: { 'resolution-mode': 'require' }}).BindingPortInterface;
export type OpenOptions = import('@serialport/bindings-interface', { with: { 'resolution-mode': 'require' }}).OpenOptions;
export type PortInfo = import('@serialport/bindings-interface', { with: { 'resolution-mode': 'require' }}).PortInfo;
export type PortStatus = import('@serialport/bindings-interface', { with: { 'resolution-mode': 'require' }}).PortStatus;
export type SetOptions = import('@serialport/bindings-interface', { with: { 'resolution-mode': 'require' }}).SetOptions;
export type UpdateOptions = import('@serialport/bindings-interface', { with: { 'resolution-mode': 'require' }}).UpdateOptions;
/** Test-only: the mock binding's types (the package is a dev dependency). */
export type MockBindingInterface = import('@serialport/binding-mock', { with: { 'resolution-mode': 'require' }}).MockBindingInterface;
export type MockPortBinding = import('@serialport/binding-mock', { with: { 'resolution-mode': 'require' }}).MockPortBinding;
