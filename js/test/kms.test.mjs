// keyroll/kms: keyrings sealed under AWS KMS through the caller's @aws-sdk/client-kms client,
// against moto's server (scripts/lib.sh start_moto, run by scripts/ci/30-js.sh: AWS_ENDPOINT_URL
// on 127.0.0.1, dummy credentials). Without it these tests are skipped, never run against AWS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { Keyring, KeyrollError } from 'keyroll';
import { AwsSdkKms, documentKeyWrap, openDocument, sealDocument } from 'keyroll/kms';

const moto = process.env.KEYROLL_TEST_MOTO === '1';
const skip = moto ? false : 'needs moto (scripts/lib.sh start_moto)';
if (moto) assert.ok(process.env.AWS_ENDPOINT_URL.startsWith('http://127.0.0.1:'), 'moto only');

const CONTEXT = { app: 'payments', keyring: 'default' };

/** A KMS client whose sent commands are counted by name. */
async function counting() {
  const { KMSClient } = await import('@aws-sdk/client-kms');
  const client = new KMSClient({});
  const calls = [];
  return {
    calls,
    client,
    send(command) {
      calls.push(command.constructor.name);
      return client.send(command);
    },
  };
}

async function alias() {
  const { KMSClient, CreateKeyCommand, CreateAliasCommand } = await import('@aws-sdk/client-kms');
  const client = new KMSClient({});
  const key = await client.send(new CreateKeyCommand({}));
  const name = `alias/keyroll-js-${randomUUID()}`;
  await client.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.KeyMetadata.KeyId }));
  return name;
}

test('seal with one GenerateDataKey, open with one Decrypt, save with none', { skip }, async () => {
  const sealer = await counting();
  const ring = Keyring.generate();
  const document = await sealDocument(ring, new AwsSdkKms(sealer, await alias(), CONTEXT));
  assert.deepEqual(sealer.calls, ['GenerateDataKeyCommand']);
  const wrap = documentKeyWrap(document);
  assert.equal(wrap.provider, 'aws-kms');
  assert.match(wrap.keyId, /^arn:aws:kms:/, 'the ARN, not the alias');
  assert.deepEqual(wrap.context, CONTEXT);
  const token = ring.encrypt('4111', { context: 'users:1:card' });

  // Another service: its own client, no key id; the document names key and context.
  const opener = await counting();
  const kms = new AwsSdkKms(opener);
  const opened = await openDocument(document, kms);
  assert.deepEqual(opener.calls, ['DecryptCommand']);
  for (let i = 0; i < 100; i++) {
    assert.equal(new TextDecoder().decode(opened.decrypt(token, { context: 'users:1:card' })), '4111');
  }
  opened.rotate();
  const changed = await sealDocument(opened, kms);
  assert.deepEqual(opener.calls, ['DecryptCommand'], 'no KMS call per message nor on save');
  assert.deepEqual(documentKeyWrap(changed), wrap);
  assert.equal(Keyring.checkSuccessor(document, changed), 2);
  assert.doesNotMatch(inspect(kms) + String(kms) + JSON.stringify(kms), /Plaintext|4111/);
});

test('KMS refuses another context: bad_passphrase; other documents are pointed at load', { skip }, async () => {
  const { client } = await counting();
  const kms = new AwsSdkKms(client, await alias(), CONTEXT);
  const [, wrap] = await kms.wrap();
  await assert.rejects(
    new AwsSdkKms(client).unwrap({ ...wrap, context: { app: 'other' } }),
    (e) => e instanceof KeyrollError && e.code === 'bad_passphrase',
  );
  await assert.rejects(
    new AwsSdkKms(client).unwrap({ ...wrap, provider: 'vault-transit' }),
    (e) => e instanceof KeyrollError && e.code === 'invalid_argument',
  );
  const plain = Keyring.generate().dump({ masterKey: new Uint8Array(32).fill(7) });
  assert.equal(documentKeyWrap(plain), undefined);
  await assert.rejects(openDocument(plain, kms), (e) => e instanceof KeyrollError && e.code === 'invalid_argument');
  // The recorded wrap is under the document's MAC: altering it never opens.
  const document = await sealDocument(Keyring.generate(), new AwsSdkKms(client, await alias(), CONTEXT));
  const altered = document.replace('"payments"', '"billing"');
  await assert.rejects(
    openDocument(altered, new AwsSdkKms(client)),
    (e) => e instanceof KeyrollError && ['bad_passphrase', 'keyring_corrupt'].includes(e.code),
  );
});
