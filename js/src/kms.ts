/**
 * Keyrings sealed by a key-management service, through the client your service already has
 * (`keyroll/kms`).
 *
 * A document sealed this way records a {@link KeyWrap}: which service and key wrapped its
 * key-encryption key (KEK), the encryption context, and the service's ciphertext. Opening it is
 * one service call; encrypting and decrypting make none; saving a changed keyring reuses the
 * KEK it was opened with, so it makes none either.
 *
 * ```js
 * import { KMSClient } from '@aws-sdk/client-kms';
 * import { AwsSdkKms, openDocument, sealDocument } from 'keyroll/kms';
 * const kms = new AwsSdkKms(new KMSClient({}), 'alias/keyroll', { app: 'payments' });
 * const document = await sealDocument(Keyring.generate(), kms);   // GenerateDataKey, once
 * const ring = await openDocument(document, new AwsSdkKms(new KMSClient({})));  // Decrypt, once
 * ```
 *
 * Any object with the two methods of {@link Kms} works (`docs/fleet.md` sketches GCP KMS and
 * Vault Transit). `@aws-sdk/client-kms` is an optional peer dependency, loaded only by
 * {@link AwsSdkKms}.
 */

import { documentKeyWrapJson } from './backend.js';
import { type Bytes, bytes } from './convert.js';
import { KeyrollError } from './errors.js';
import { Keyring } from './keyring.js';

/** A key-encryption key wrapped by a key-management service, as a document records it. */
export interface KeyWrap {
  /** The service: `aws-kms`, `gcp-kms`, `vault-transit`, … */
  provider: string;
  /** The service's key (for AWS KMS, the key's ARN). */
  keyId: string;
  /** The encryption context the wrap is bound to. */
  context: Record<string, string>;
  /** The service's ciphertext of the KEK. */
  wrapped: Uint8Array;
}

/** What {@link openDocument} and {@link sealDocument} call. */
export interface Kms {
  /** The KEK to seal under and its wrap (the one last unwrapped, so a save makes no call). */
  wrap(): Promise<[Uint8Array, KeyWrap]> | [Uint8Array, KeyWrap];
  /** The 32-byte KEK `wrap` holds, from the service. */
  unwrap(wrap: KeyWrap): Promise<Uint8Array> | Uint8Array;
}

/** The `KeyWrap.provider` of AWS KMS wraps (the same as the CLI's and Python's). */
export const AWS_KMS = 'aws-kms';

/** How `document` is sealed, read without any key: its wrap, or `undefined` for a passphrase or master-key document. */
export function documentKeyWrap(document: Bytes): KeyWrap | undefined {
  const json = documentKeyWrapJson(bytes(document));
  if (json === undefined || json === null) return undefined;
  const w = JSON.parse(json) as { provider: string; key_id: string; context: Record<string, string>; wrapped: number[] };
  return { provider: w.provider, keyId: w.key_id, context: w.context, wrapped: Uint8Array.from(w.wrapped) };
}

/** Opens a document sealed by a key-management service: one `kms.unwrap(wrap)` with the wrap it records. */
export async function openDocument(document: Bytes, kms: Kms): Promise<Keyring> {
  const doc = bytes(document);
  const wrap = documentKeyWrap(doc);
  if (wrap === undefined) {
    throw new KeyrollError(
      'invalid_argument',
      'this document is sealed by a passphrase or master key, not a key-management service: open it with Keyring.load',
    );
  }
  const kek = await kms.unwrap(wrap);
  return Keyring.loadUnwrapped(doc, kek);
}

/** Seals `ring` under the KEK `kms.wrap()` returns. */
export async function sealDocument(ring: Keyring, kms: Kms): Promise<string> {
  const [kek, wrap] = await kms.wrap();
  return ring.dumpWrapped(kek, wrap);
}

/** The part of `@aws-sdk/client-kms`'s `KMSClient` used here. */
export interface KmsClientLike {
  send(command: any): Promise<any>;
}

// KMS's answers for a ciphertext, key or context that does not match: as for a wrong master key.
const REFUSED = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/**
 * AWS KMS through an `@aws-sdk/client-kms` `KMSClient` (its credentials, region and endpoint
 * are yours). `keyId` (id, ARN or alias) and `context` are what new KEKs are made under;
 * opening a document needs neither. The object remembers the KEK it last made or unwrapped,
 * so `sealDocument` after `openDocument` re-seals without a call: use one per keyring.
 */
export class AwsSdkKms implements Kms {
  readonly #client: KmsClientLike;
  readonly #keyId: string | undefined;
  readonly #context: Record<string, string>;
  #current: [Uint8Array, KeyWrap] | undefined;

  constructor(client: KmsClientLike, keyId?: string, context: Record<string, string> = {}) {
    this.#client = client;
    this.#keyId = keyId;
    this.#context = { ...context };
  }

  /** The KEK last unwrapped or made, else `GenerateDataKey` (AES-256); the wrap records the key's ARN. */
  async wrap(): Promise<[Uint8Array, KeyWrap]> {
    if (this.#current === undefined) {
      if (!this.#keyId) throw new KeyrollError('invalid_argument', 'AwsSdkKms needs a keyId to seal a new keyring');
      const { GenerateDataKeyCommand } = await import('@aws-sdk/client-kms');
      const out = await this.#client.send(
        new GenerateDataKeyCommand({ KeyId: this.#keyId, KeySpec: 'AES_256', EncryptionContext: { ...this.#context } }),
      );
      const wrap: KeyWrap = {
        provider: AWS_KMS,
        keyId: out.KeyId ?? this.#keyId,
        context: { ...this.#context },
        wrapped: out.CiphertextBlob,
      };
      this.#current = [out.Plaintext, wrap];
    }
    return this.#current;
  }

  /** One `Decrypt` with the key and context `wrap` records; a refusal is `KeyrollError` `bad_passphrase`. */
  async unwrap(wrap: KeyWrap): Promise<Uint8Array> {
    if (wrap.provider !== AWS_KMS) {
      throw new KeyrollError('invalid_argument', `this keyring's KEK was wrapped by ${wrap.provider}, not AWS KMS`);
    }
    const { DecryptCommand } = await import('@aws-sdk/client-kms');
    let out;
    try {
      out = await this.#client.send(
        new DecryptCommand({ CiphertextBlob: wrap.wrapped, KeyId: wrap.keyId, EncryptionContext: { ...wrap.context } }),
      );
    } catch (e) {
      const name = (e as { name?: unknown }).name;
      if (typeof name === 'string' && REFUSED.has(name)) {
        throw new KeyrollError('bad_passphrase', `AWS KMS refused to unwrap this keyring's key-encryption key (${name})`);
      }
      throw e;
    }
    const kek = out.Plaintext as Uint8Array;
    this.#current = [kek, wrap];
    return kek;
  }

  toString(): string {
    return `AwsSdkKms(${this.#keyId ?? 'from the document'})`;
  }

  toJSON(): object {
    return { keyId: this.#keyId, context: this.#context };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
