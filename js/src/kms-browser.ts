/** `keyroll/kms` for browsers: instantiates the wasm (as `keyroll` does), then the KMS helpers. */
import './browser.js';
export * from './kms.js';
