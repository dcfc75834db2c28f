import { expect } from 'chai';
import { parseQueueMessage } from '../../src/worker/queue-message.ts';

/** The two messages guardrails and drift add to the queue: release (the CLI) and drift-check (the DAG). */
describe('queue messages: release and drift-check', () => {
  const at = '2026-11-25T17:30:00.000Z';

  it('parses a release with who asked and when', () => {
    const body = {
      kind: 'catalog-sync.release',
      version: 1,
      manifestKey: 'synced/manifests/x/m.json',
      by: 'alice',
      sentAt: at,
    };
    expect(parseQueueMessage(JSON.stringify(body))).to.deep.equal({
      kind: 'release',
      manifestKey: 'synced/manifests/x/m.json',
      by: 'alice',
      requestedAt: at,
    });
  });

  it('parses a drift check, a dry run or not', () => {
    const body = { kind: 'catalog-sync.drift-check', version: 1, sentAt: at };
    expect(parseQueueMessage(JSON.stringify(body))).to.deep.equal({ kind: 'drift-check', dryRun: false });
    expect(parseQueueMessage(JSON.stringify({ ...body, dryRun: true }))).to.deep.equal({
      kind: 'drift-check',
      dryRun: true,
    });
  });

  it('dead-letters a release without who, or an unknown version, with the reason', () => {
    const noBy = { kind: 'catalog-sync.release', version: 1, manifestKey: 'k', sentAt: at };
    const parsed = parseQueueMessage(JSON.stringify(noBy));
    expect(parsed).to.include({ kind: 'invalid', deadLetter: 'unparseable' });
    expect((parsed as { reason: string }).reason).to.include('sweep-message.schema.json');
    expect(
      parseQueueMessage(JSON.stringify({ kind: 'catalog-sync.drift-check', version: 2, sentAt: at })),
    ).to.include({
      kind: 'invalid',
      deadLetter: 'unsupported-version',
    });
  });
});
