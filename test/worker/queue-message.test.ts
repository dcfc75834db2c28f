import { expect } from 'chai';
import { decodeS3Key, isCsvKey, parseQueueMessage, skipReason } from '../../src/worker/queue-message.ts';
import { parseEventTime, windowOf } from '../../src/shared/hours.ts';

const record = (over: Record<string, unknown> = {}, object: Record<string, unknown> = {}) => ({
  eventVersion: '2.1',
  eventSource: 'aws:s3',
  eventTime: '2026-11-25T17:05:00.123Z',
  eventName: 'ObjectCreated:Put',
  s3: {
    bucket: { name: 'landing-bucket' },
    object: { key: 'landing/a.csv', size: 10, eTag: 'abc123', sequencer: '0055AED6DCD90281E5', ...object },
  },
  ...over,
});

describe('queue messages', () => {
  it('decodes form-encoded S3 keys: + is a space, %2B is a plus', () => {
    expect(decodeS3Key('landing/red+flower%2Bblue.csv')).to.equal('landing/red flower+blue.csv');
    expect(decodeS3Key('landing/%C3%A9t%C3%A9.csv')).to.equal('landing/été.csv');
  });

  it('parses an S3 event in the real shape: decoded key, unquoted eTag, event time with Z', () => {
    const msg = parseQueueMessage(
      JSON.stringify({ Records: [record({}, { key: 'landing/my+file%2B1.csv', eTag: '"abc"' })] }),
    );
    expect(msg.kind).to.equal('s3-event');
    if (msg.kind !== 's3-event') return;
    expect(msg.objects).to.have.length(1);
    expect(msg.objects[0]).to.deep.include({
      bucket: 'landing-bucket',
      key: 'landing/my file+1.csv',
      etag: 'abc',
      sequencer: '0055AED6DCD90281E5',
      eventTime: Date.parse('2026-11-25T17:05:00.123Z'),
    });
  });

  it("reads moto's event time without a zone as UTC, and a missing sequencer as null", () => {
    expect(parseEventTime('2026-11-25T17:00:00.123456')).to.equal(Date.parse('2026-11-25T17:00:00.123Z'));
    const msg = parseQueueMessage(
      JSON.stringify({
        Records: [record({ eventTime: '2026-11-25T17:00:00.123456' }, { sequencer: undefined })],
      }),
    );
    if (msg.kind !== 's3-event') throw new Error(msg.kind);
    expect(msg.objects[0]!.sequencer).to.equal(null);
    expect(windowOf(msg.objects[0]!.eventTime!)).to.equal('2026-11-25T17:00:00Z');
  });

  it('recognises s3:TestEvent', () => {
    const msg = parseQueueMessage(
      JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: 'x', Bucket: 'b', RequestId: 'r' }),
    );
    expect(msg).to.deep.equal({ kind: 's3-test-event', bucket: 'b' });
  });

  it('ignores records that are not ObjectCreated', () => {
    const msg = parseQueueMessage(
      JSON.stringify({ Records: [record({ eventName: 'ObjectRemoved:Delete' })] }),
    );
    if (msg.kind !== 's3-event') throw new Error(msg.kind);
    expect(msg.objects).to.have.length(0);
    expect(msg.ignored[0]!.reason).to.match(/not an ObjectCreated/);
  });

  it('parses straggler and status-recheck messages against the sweep schema', () => {
    const straggler = parseQueueMessage(
      JSON.stringify({
        kind: 'catalog-sync.straggler',
        version: 1,
        bucket: 'landing-bucket',
        key: 'landing/x.csv',
        etag: '"e1"',
        reason: 'no-manifest',
        sentAt: '2026-11-25T18:00:00Z',
      }),
    );
    expect(straggler.kind).to.equal('straggler');
    if (straggler.kind === 'straggler')
      expect(straggler.object).to.include({ key: 'landing/x.csv', etag: 'e1' });
    const recheck = parseQueueMessage(
      JSON.stringify({
        kind: 'catalog-sync.status-recheck',
        version: 1,
        manifestKey: 'synced/manifests/2026-11-25T17/m.json',
        sentAt: '2026-11-25T18:00:00Z',
      }),
    );
    expect(recheck).to.deep.equal({
      kind: 'status-recheck',
      manifestKey: 'synced/manifests/2026-11-25T17/m.json',
    });
  });

  it('marks unparseable bodies and unknown versions for the dead-letter queue with a reason', () => {
    const notJson = parseQueueMessage('not json');
    expect(notJson).to.include({ kind: 'invalid', deadLetter: 'unparseable' });
    const v2 = parseQueueMessage(JSON.stringify({ kind: 'catalog-sync.straggler', version: 2 }));
    expect(v2).to.include({ kind: 'invalid', deadLetter: 'unsupported-version' });
    const badSweep = parseQueueMessage(
      JSON.stringify({ kind: 'catalog-sync.straggler', version: 1, key: 'x' }),
    );
    expect(badSweep).to.include({ kind: 'invalid', deadLetter: 'unparseable' });
    if (badSweep.kind === 'invalid') expect(badSweep.reason).to.match(/sweep-message.schema.json/);
    const s3v3 = parseQueueMessage(JSON.stringify({ Records: [record({ eventVersion: '3.0' })] }));
    expect(s3v3).to.include({ kind: 'invalid', deadLetter: 'unsupported-version' });
    const other = parseQueueMessage(JSON.stringify({ hello: 'world' }));
    expect(other).to.include({ kind: 'invalid', deadLetter: 'unparseable' });
  });

  it('skips keys outside the landing prefix, other buckets and non-.csv names', () => {
    const landing = { bucket: 'landing-bucket', prefix: 'landing/' };
    expect(skipReason({ bucket: 'landing-bucket', key: 'landing/a.CSV' }, landing)).to.equal(null);
    expect(skipReason({ bucket: 'landing-bucket', key: 'other/a.csv' }, landing)).to.match(
      /outside the landing prefix/,
    );
    expect(skipReason({ bucket: 'landing-bucket', key: 'landing/a.txt' }, landing)).to.equal(null);
    expect(isCsvKey('landing/a.txt')).to.equal(false);
    expect(isCsvKey('landing/a.Csv')).to.equal(true);
    expect(isCsvKey('landing/a.csv.gz')).to.equal(false);
    expect(skipReason({ bucket: 'x', key: 'landing/a.csv' }, landing)).to.match(/not the landing bucket/);
  });
});
