import { expect } from 'chai';
import { DLQ_ATTR, deadLetterAttributes } from '../../src/dead-letter.ts';
import {
  NO_VERDICT_TEXT,
  describeDlqMessage,
  entryMatches,
  failureText,
  parseDlqBody,
  redriveAttributes,
} from '../../src/ops/dlq-message.ts';
import { compileMatch } from '../../src/ops/redrive.ts';
import { reason, recheckBody, s3EventBody, stragglerBody } from './support.ts';

describe('describing a dead-lettered message', () => {
  it('decodes S3 event keys form-style and names every object of a multi-record event', () => {
    const p = parseDlqBody(s3EventBody('landing', 'landing/acme/prices 1 (+tax).csv', 'landing/b.csv'));
    expect(p.kind).to.equal('s3-event');
    if (p.kind !== 's3-event') return;
    expect(p.objects.map((o) => o.key)).to.deep.equal(['landing/acme/prices 1 (+tax).csv', 'landing/b.csv']);
  });

  it('recognises stragglers, status re-checks, the S3 test event, and anything else as unparseable', () => {
    expect(parseDlqBody(stragglerBody('landing', 'landing/x.csv'))).to.deep.include({
      kind: 'straggler',
      key: 'landing/x.csv',
    });
    expect(parseDlqBody(recheckBody('synced/manifests/h/m.json'))).to.deep.include({
      kind: 'status-recheck',
    });
    expect(parseDlqBody('{"Service":"Amazon S3","Event":"s3:TestEvent"}').kind).to.equal('s3-test-event');
    expect(parseDlqBody('<xml/>')).to.deep.include({ kind: 'unparseable' });
    expect(parseDlqBody('{"Records":[{"s3":{}}]}')).to.deep.include({ kind: 'unparseable' });
    expect(parseDlqBody('{"kind":"catalog-sync.unknown"}')).to.deep.include({ kind: 'unparseable' });
  });

  it("reads the worker's verdict, or says there was none and counts receives without the listing's own", () => {
    const withVerdict = describeDlqMessage({
      MessageId: 'a',
      Body: s3EventBody('b', 'landing/a.csv'),
      MessageAttributes: deadLetterAttributes(reason({ receiveCount: 4 })),
      Attributes: { ApproximateReceiveCount: '9', SentTimestamp: '1795626000000' },
    });
    expect(withVerdict.receiveCount).to.equal(4);
    expect(failureText(withVerdict.failure)).to.equal('transient-exhausted: S3 GetObject timed out');
    expect(withVerdict.sentAt).to.match(/^2026-/);

    const without = describeDlqMessage({
      MessageId: 'b',
      Body: 'x',
      Attributes: { ApproximateReceiveCount: '6' },
    });
    expect(without.failure.kind).to.equal('no-verdict');
    expect(without.receiveCount).to.equal(5);
    expect(failureText(without.failure)).to.equal(NO_VERDICT_TEXT);
  });

  it('--match applies to any key the message names; a message naming none never matches', () => {
    const isMatch = compileMatch('landing/acme/**');
    const entry = (body: string) => describeDlqMessage({ MessageId: 'x', Body: body });
    expect(
      entryMatches(entry(s3EventBody('b', 'landing/other/1.csv', 'landing/acme/d/2.csv')), isMatch),
    ).to.equal(true);
    expect(entryMatches(entry(stragglerBody('b', 'landing/other/1.csv')), isMatch)).to.equal(false);
    expect(entryMatches(entry('garbage'), isMatch)).to.equal(false);
    expect(entryMatches(entry('garbage'), undefined)).to.equal(true);
    expect(() => compileMatch(' ')).to.throw(/--match needs a glob/);
  });

  it('strips the dead-letter attributes and keeps the others as sendable values', () => {
    const kept = redriveAttributes({
      ...deadLetterAttributes(reason()),
      Origin: { DataType: 'String', StringValue: 'export', StringListValues: [], BinaryListValues: [] },
      Blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2]) },
    });
    expect(Object.keys(kept ?? {})).to.deep.equal(['Origin', 'Blob']);
    expect(kept?.Origin).to.deep.equal({ DataType: 'String', StringValue: 'export' });
    expect(redriveAttributes(deadLetterAttributes(reason()))).to.equal(undefined);
    expect(Object.values(DLQ_ATTR).some((n) => n in (kept ?? {}))).to.equal(false);
  });
});
