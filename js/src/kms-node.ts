/** `keyroll/kms` for Node: installs the binding (as `keyroll` does), then the KMS helpers. */
import './node.js';
export * from './kms.js';
