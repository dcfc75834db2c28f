import {
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { loadTemplate, parseTemplate } from '../../tools/local-aws/cfn-template.ts';
import {
  checkLocallyApplicable,
  deployTemplate,
  ProvisionError,
  STORAGE_TEMPLATE,
} from '../../tools/local-aws/provision.ts';
import { waitFor } from '../../tools/local-aws/moto-server.ts';
import { deployTestStack, type TestStack } from '../support/sandbox-harness.ts';
import { STORAGE_EXPORTS } from './support/cfn-eval.ts';

describe('infra/storage.yml deployed to moto (one provisioning path)', () => {
  let stack: TestStack;

  before(async () => {
    stack = await deployTestStack('infra');
  });

  it('sends ObjectCreated events for every key under landing/ to the queue (no suffix filter)', async () => {
    const cfg = await stack.clients.s3.send(
      new GetBucketNotificationConfigurationCommand({ Bucket: stack.landingBucket }),
    );
    expect(cfg.QueueConfigurations).to.have.length(1);
    const q = cfg.QueueConfigurations![0]!;
    expect(q.QueueArn).to.equal(stack.outputs.QueueArn);
    expect(q.Events).to.deep.equal(['s3:ObjectCreated:*']);
    const rules = Object.fromEntries(
      q.Filter!.Key!.FilterRules!.map((r) => [r.Name!.toLowerCase(), r.Value]),
    );
    // A suffix rule is case-sensitive: ".csv" silently dropped landing/x.CSV.
    expect(rules).to.deep.equal({ prefix: 'landing/' });
  });

  it('expires archive/ after 30 days and synced/ and errors/ after 30 days', async () => {
    const landing = await stack.clients.s3.send(
      new GetBucketLifecycleConfigurationCommand({ Bucket: stack.landingBucket }),
    );
    const archive = landing.Rules!.find((r) => r.Filter?.Prefix === 'archive/');
    expect(archive?.Status).to.equal('Enabled');
    expect(archive?.Expiration?.Days).to.equal(30);

    const synced = await stack.clients.s3.send(
      new GetBucketLifecycleConfigurationCommand({ Bucket: stack.syncedBucket }),
    );
    const byPrefix = Object.fromEntries(synced.Rules!.map((r) => [r.Filter?.Prefix, r.Expiration?.Days]));
    expect(byPrefix).to.include({ 'synced/manifests/': 30, 'synced/batches/': 30, 'errors/': 30 });
  });

  it('gives the queue a DLQ through a redrive policy (maxReceiveCount 5), SSE, 4-day queue and 14-day DLQ retention', async () => {
    const attrs = await stack.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: stack.queueUrl, AttributeNames: ['All'] }),
    );
    const redrive = JSON.parse(attrs.Attributes!.RedrivePolicy!) as Record<string, unknown>;
    expect(redrive.deadLetterTargetArn).to.equal(stack.outputs.DeadLetterQueueArn);
    expect(Number(redrive.maxReceiveCount)).to.equal(5);
    expect(Number(attrs.Attributes!.MaximumMessageSize)).to.be.at.least(65536);
    expect(attrs.Attributes!.ReceiveMessageWaitTimeSeconds).to.equal('20');
    expect(attrs.Attributes!.SqsManagedSseEnabled).to.equal('true');
    const dlq = await stack.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: stack.dlqUrl, AttributeNames: ['MessageRetentionPeriod'] }),
    );
    expect(dlq.Attributes!.MessageRetentionPeriod).to.equal('1209600');
    // SQS keeps a message's original enqueue time when it dead-letters it, and the DLQ's retention counts
    // from then: the DLQ must keep messages well beyond the queue, or they expire soon after arriving.
    const queueDays = Number(attrs.Attributes!.MessageRetentionPeriod) / 86_400;
    expect(queueDays).to.equal(4);
    expect(Number(dlq.Attributes!.MessageRetentionPeriod) / 86_400 - queueDays).to.be.at.least(7);
  });

  it("outputs the queue's visibility timeout and receive count, as set on the queue, for the worker", async () => {
    const attrs = await stack.clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.queueUrl,
        AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'],
      }),
    );
    const redrive = JSON.parse(attrs.Attributes!.RedrivePolicy!) as { maxReceiveCount: number | string };
    expect(stack.outputs.VisibilityTimeout).to.equal(attrs.Attributes!.VisibilityTimeout);
    expect(stack.outputs.MaxReceiveCount).to.equal(String(redrive.maxReceiveCount));
    // The values the IAM/task-definition tests import (support/cfn-eval.ts) are these defaults.
    expect(STORAGE_EXPORTS.VisibilityTimeout).to.equal(stack.outputs.VisibilityTimeout);
    expect(STORAGE_EXPORTS.MaxReceiveCount).to.equal(stack.outputs.MaxReceiveCount);
    const { template } = await loadTemplate(STORAGE_TEMPLATE);
    for (const name of ['VisibilityTimeout', 'MaxReceiveCount'])
      expect(
        (template.Outputs![name] as { Export?: { Name: unknown } }).Export?.Name,
        `${name} is exported`,
      ).to.deep.equal({ 'Fn::Sub': `\${AWS::StackName}-${name}` });
  });

  it('denies every plain-HTTP request on both queues, the DLQ included (a policy moto stores but does not enforce)', async () => {
    for (const url of [stack.queueUrl, stack.dlqUrl]) {
      const attrs = await stack.clients.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['Policy', 'QueueArn'] }),
      );
      const policy = JSON.parse(attrs.Attributes!.Policy!) as { Statement: Record<string, unknown>[] };
      expect(policy.Statement, url).to.deep.include({
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 'sqs:*',
        Resource: attrs.Attributes!.QueueArn,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
    }
    // Stored, not enforced: the sandbox's plain-HTTP endpoint still reaches the DLQ (the worker sends there).
    await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: stack.dlqUrl, MessageBody: 'probe' }));
    const got = await stack.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: stack.dlqUrl, WaitTimeSeconds: 1 }),
    );
    expect(got.Messages?.map((m) => m.Body)).to.deep.equal(['probe']);
    await stack.clients.sqs.send(
      new DeleteMessageCommand({ QueueUrl: stack.dlqUrl, ReceiptHandle: got.Messages![0]!.ReceiptHandle! }),
    );
  });

  it('admits only the landing bucket of the same account in the queue policy', async () => {
    const attrs = await stack.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: stack.queueUrl, AttributeNames: ['Policy'] }),
    );
    const policy = JSON.parse(attrs.Attributes!.Policy!) as { Statement: Record<string, unknown>[] };
    const allow = policy.Statement.find((s) => s.Effect === 'Allow')!;
    expect(allow.Principal).to.deep.equal({ Service: 's3.amazonaws.com' });
    expect(allow.Action).to.equal('sqs:SendMessage');
    expect(allow.Condition).to.deep.equal({
      ArnLike: { 'aws:SourceArn': `arn:aws:s3:::${stack.landingBucket}` },
      StringEquals: { 'aws:SourceAccount': '123456789012' },
    });
  });

  for (const which of ['landing', 'synced'] as const) {
    it(`encrypts and blocks public access on the ${which} bucket`, async () => {
      const Bucket = which === 'landing' ? stack.landingBucket : stack.syncedBucket;
      const enc = await stack.clients.s3.send(new GetBucketEncryptionCommand({ Bucket }));
      const rule = enc.ServerSideEncryptionConfiguration!.Rules![0]!;
      expect(rule.ApplyServerSideEncryptionByDefault!.SSEAlgorithm).to.equal('AES256');
      const pab = await stack.clients.s3.send(new GetPublicAccessBlockCommand({ Bucket }));
      expect(pab.PublicAccessBlockConfiguration).to.deep.equal({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    });
  }

  it('declares a TLS-only policy on both buckets and says loudly that moto cannot enforce it', async () => {
    const { template } = await loadTemplate(STORAGE_TEMPLATE);
    for (const id of ['LandingBucketPolicy', 'SyncedBucketPolicy']) {
      const doc = template.Resources[id]!.Properties!.PolicyDocument as {
        Statement: Record<string, unknown>[];
      };
      expect(doc.Statement).to.deep.include({
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: doc.Statement[0]!.Resource,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
    }
    const again = await deployTemplate({
      clients: stack.clients,
      stackName: `catalog-sync-${stack.stage}`,
      parameters: { Stage: stack.stage },
    });
    expect(again.localDeviations).to.have.length(2);
    for (const bucket of [stack.landingBucket, stack.syncedBucket]) {
      expect(again.localDeviations).to.satisfy((d: string[]) =>
        d.some(
          (line) => line.includes(bucket) && line.includes('DenyInsecureTransport') && line.includes('Bool'),
        ),
      );
    }
  });

  it('versions the landing bucket', async () => {
    const v = await stack.clients.s3.send(new GetBucketVersioningCommand({ Bucket: stack.landingBucket }));
    expect(v.Status).to.equal('Enabled');
  });

  it('is safe to deploy twice', async () => {
    const again = await deployTemplate({
      clients: stack.clients,
      stackName: `catalog-sync-${stack.stage}`,
      parameters: { Stage: stack.stage },
    });
    expect(again.created).to.equal(false);
    expect(again.outputs).to.deep.equal(stack.outputs);
  });

  describe('S3 → SQS', () => {
    async function drain(): Promise<Message[]> {
      const got: Message[] = [];
      for (;;) {
        const res = await stack.clients.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: stack.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
          }),
        );
        if (!res.Messages?.length) return got;
        got.push(...res.Messages);
      }
    }
    const s3Records = (messages: Message[]) =>
      messages
        .map((m) => JSON.parse(m.Body!) as { Records?: { s3: { object: { key: string } } }[] })
        .flatMap((b) => b.Records ?? [])
        // S3 form-encodes keys in events (moto also encodes "/"); decode as the worker does.
        .map((r) => decodeURIComponent(r.s3.object.key.replace(/\+/g, ' ')));

    it('puts one event on the queue for every object under landing/, whatever its name, and none elsewhere', async () => {
      await drain(); // the s3:TestEvent sent when the notification was configured
      const put = (Key: string) =>
        stack.clients.s3.send(new PutObjectCommand({ Bucket: stack.landingBucket, Key, Body: 'id\n' }));
      const inLanding = [
        'landing/2026/11/25/products.csv',
        'landing/x.CSV',
        'landing/Mixed.Csv',
        'landing/notes.txt',
      ];
      await put('archive/old.csv');
      await put('elsewhere/products.csv');
      await put('landingx/products.csv');
      for (const key of inLanding) await put(key);
      let keys: string[] = [];
      await waitFor('the landing events', async () => {
        keys = keys.concat(s3Records(await drain()));
        return keys.length >= inLanding.length;
      });
      keys = keys.concat(s3Records(await drain()));
      expect(keys).to.have.members(inLanding);
      expect(keys).to.have.length(inLanding.length);
    });
  });

  describe('fails loudly on what the local path cannot apply', () => {
    it('names an unsupported property before creating anything', () => {
      const template = parseTemplate(`
Resources:
  B:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: x
      CorsConfiguration: { CorsRules: [] }
  T:
    Type: AWS::SNS::Topic
`);
      expect(() => checkLocallyApplicable(template))
        .to.throw(ProvisionError)
        .with.property('message')
        .that.includes('B (AWS::S3::Bucket).CorsConfiguration')
        .and.includes('T (AWS::SNS::Topic): resource type');
    });
  });
});
