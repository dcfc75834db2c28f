import {
  CreateSecretCommand,
  DeleteSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { tokenSourceFor } from '../../src/destination-token.ts';
import { redact } from '../../src/logger.ts';
import { GraphApiError } from '../../src/meta/graph-error.ts';
import { secretsManagerToken } from '../../src/meta/secrets-manager-token.ts';
import type { Simulator } from '../../tools/simulator/index.ts';
import { motoEndpoint } from '../support/sandbox-harness.ts';
import { capturingLogger, clientFor, validItem, withSim, rejection } from './helpers.ts';

/**
 * META_ACCESS_TOKEN_SECRET_ID: the token lives in Secrets Manager (moto in server mode here), is read at
 * start-up and again by refreshCredentials(), so rotating the secret un-halts a running worker.
 */

const newToken = (label: string) => `${label}-${randomBytes(16).toString('hex')}`;

describe('meta: access token from AWS Secrets Manager (moto)', function () {
  this.timeout(30_000);
  let sm: SecretsManagerClient;
  let sim: Simulator;
  /** The token Meta (the simulator) accepts; the secret starts with an older one. */
  const good = newToken('rotated');
  const stale = newToken('stale');

  before(async () => {
    sm = new SecretsManagerClient({
      endpoint: motoEndpoint(),
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    sim = await withSim({ accessToken: good });
  });
  after(async () => {
    await sim.stop();
    sm.destroy();
  });

  const secret = async (value: string) => {
    const name = `catalog-sync/meta-token-${randomBytes(4).toString('hex')}`;
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    return name;
  };

  it('a token rotated in Secrets Manager is picked up by refreshCredentials(), and registered for redaction', async () => {
    const secretId = await secret(stale);
    const { logger, text } = capturingLogger();
    const source = await secretsManagerToken({ secretId, client: sm, logger });
    const client = clientFor(sim, { tokenSource: source, logger });
    expect(await rejection(client.probe())).to.include({ kind: 'auth', code: 190 });

    await sm.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: good }));
    await client.probe().then(
      () => expect.fail('still the old token before refreshCredentials()'),
      (err: unknown) => expect(err).to.be.instanceOf(GraphApiError),
    );
    await client.refreshCredentials();
    await client.probe();
    expect((await client.itemsBatch([validItem('R')])).handle).to.be.a('string');
    expect(redact(`token ${good} and ${stale}`)).to.equal('token [REDACTED] and [REDACTED]');
    expect(text()).to.include('access token replaced by a new secret value').and.not.include(good);
  });

  it('reads a JSON secret {"access_token": …}, the console’s key/value shape', async () => {
    const secretId = await secret(JSON.stringify({ access_token: good }));
    const { logger } = capturingLogger();
    const client = clientFor(sim, {
      tokenSource: await secretsManagerToken({ secretId, client: sm, logger }),
    });
    await client.probe();
  });

  it('a secret holding an unusable token: taken, logged without the value; calls fail as auth naming the character', async () => {
    const pasted = `${good.slice(0, 8)}\u200b${good.slice(8)}`;
    const secretId = await secret(pasted);
    const { logger, text } = capturingLogger();
    const client = clientFor(sim, {
      tokenSource: await secretsManagerToken({ secretId, client: sm, logger }),
    });
    const err = await rejection(client.probe());
    expect(err.kind).to.equal('auth');
    expect(err.message).to.include(`Secrets Manager secret ${secretId}`).and.include('U+200B');
    expect(text()).to.include('unusable').and.include('U+200B').and.not.include(good.slice(8));
    await sm.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: good }));
    await client.refreshCredentials();
    await client.probe();
  });

  it('a secret that cannot be read: auth at start-up, and refreshCredentials() keeps the token in force', async () => {
    const { logger } = capturingLogger();
    const missing = await rejection(secretsManagerToken({ secretId: 'no/such/secret', client: sm, logger }));
    expect(missing.kind).to.equal('auth');
    expect(missing.message).to.match(/ResourceNotFoundException/);

    const secretId = await secret(good);
    const client = clientFor(sim, {
      tokenSource: await secretsManagerToken({ secretId, client: sm, logger }),
    });
    await sm.send(new DeleteSecretCommand({ SecretId: secretId, ForceDeleteWithoutRecovery: true }));
    expect((await rejection(client.refreshCredentials())).kind).to.equal('auth');
    await client.probe(); // still the last good token
  });

  it('Secrets Manager out of reach is transient', async () => {
    const { logger } = capturingLogger();
    const offline = new SecretsManagerClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const err = await rejection(secretsManagerToken({ secretId: 'x', client: offline, logger }));
    expect(err.kind).to.equal('transient');
    offline.destroy();
  });

  it('tokenSourceFor (the worker command): META_ACCESS_TOKEN_SECRET_ID reads the secret, META_ACCESS_TOKEN is used as is', async () => {
    const secretId = await secret(good);
    const { logger } = capturingLogger();
    const fromSecret = await tokenSourceFor(
      { token: { kind: 'secrets-manager', secretId }, awsRegion: 'us-east-1' },
      logger,
    );
    expect(fromSecret.current()).to.equal(good);
    expect(fromSecret.origin).to.equal(`Secrets Manager secret ${secretId}`);
    const fixed = await tokenSourceFor(
      { token: { kind: 'fixed', accessToken: stale }, awsRegion: 'us-east-1' },
      logger,
    );
    await fixed.refresh();
    expect(fixed.current()).to.equal(stale);
    expect(fixed.origin).to.equal('META_ACCESS_TOKEN');
  });
});
