/**
 * The binding under the TypeScript API: the Node-API addon (`native`: core on aws-lc-rs, from
 * the platform package `keyroll-<platform>`) or the WebAssembly module (`wasm`: everywhere
 * else, and the fallback). Both export the same classes and functions with the same names,
 * arguments and errors (`bindings/node` mirrors `bindings/wasm`), so every other file imports
 * its binding from here and is one code path over either.
 *
 * The entry (`node.ts`, `browser.ts`) calls `useBinding` once at import, before any API call;
 * the exports below are ES module live bindings, so importers see the chosen module. The
 * browser entry never names the native addon, so bundles for browsers never contain it.
 */

import type * as Wasm from './wasm/keyroll_wasm.js';

/** Which binding this copy of keyroll runs on. */
export type BackendName = 'native' | 'wasm';

/** What a binding module exports (the wasm-bindgen module's types, which the addon matches). */
export type Binding = Pick<
  typeof Wasm,
  | 'WasmKeyring'
  | 'WasmKeyringHandle'
  | 'WasmBlindIndex'
  | 'WasmSigningKeyring'
  | 'aeadBackend'
  | 'checkNotRolledBack'
  | 'checkSuccessor'
  | 'defaultPbkdf2Iterations'
  | 'documentGeneration'
  | 'documentKeyWrapJson'
  | 'errorCodes'
  | 'generateFernetKey'
  | 'inspectJson'
  | 'setErrorFactory'
>;

export type WasmKeyring = Wasm.WasmKeyring;
export type WasmKeyringHandle = Wasm.WasmKeyringHandle;
export type WasmBlindIndex = Wasm.WasmBlindIndex;
export type WasmSigningKeyring = Wasm.WasmSigningKeyring;

/** `native` (the Node-API addon) or `wasm`; fixed at import. */
export let backend: BackendName = 'wasm';
export let WasmKeyring: Binding['WasmKeyring'];
export let WasmKeyringHandle: Binding['WasmKeyringHandle'];
export let WasmBlindIndex: Binding['WasmBlindIndex'];
export let WasmSigningKeyring: Binding['WasmSigningKeyring'];
export let aeadBackend: Binding['aeadBackend'];
export let checkNotRolledBack: Binding['checkNotRolledBack'];
export let checkSuccessor: Binding['checkSuccessor'];
export let defaultPbkdf2Iterations: Binding['defaultPbkdf2Iterations'];
export let documentGeneration: Binding['documentGeneration'];
export let documentKeyWrapJson: Binding['documentKeyWrapJson'];
export let errorCodes: Binding['errorCodes'];
export let generateFernetKey: Binding['generateFernetKey'];
export let inspectJson: Binding['inspectJson'];
export let setErrorFactory: Binding['setErrorFactory'];

/** @internal Installs the binding the entry chose (once, at import). */
export function useBinding(binding: Binding, name: BackendName): void {
  backend = name;
  ({
    WasmKeyring,
    WasmKeyringHandle,
    WasmBlindIndex,
    WasmSigningKeyring,
    aeadBackend,
    checkNotRolledBack,
    checkSuccessor,
    defaultPbkdf2Iterations,
    documentGeneration,
    documentKeyWrapJson,
    errorCodes,
    generateFernetKey,
    inspectJson,
    setErrorFactory,
  } = binding);
}
