import type { ProductStateEntry } from '../../src/contract/product-state.ts';
import { expect } from 'chai';
import { CatalogLease, LeaseLostError } from '../../src/state/catalog-lease.ts';
import { DynamoStateStore } from '../../src/state/dynamo-state-store.ts';
import { S3StateStore, type ProductStateStore } from '../../src/state/product-state-store.ts';
import type { StateUpdate } from '../../src/state/send-gate.ts';
import { createStateStore } from '../../src/state/state-store.ts';
import { deployTestStack, type TestStack } from '../support/sandbox-harness.ts';

/**
 * The contract of a product state store (product-state-store.ts), run against both stores on moto:
 * mergeEntry per product, conditional writes that re-read and re-merge when they lose a race, and the
 * lease fencing rule.
 */

const T0 = Date.UTC(2026, 10, 25, 12);

function entry(h: string, t: number, extra: Partial<ProductStateEntry> = {}): ProductStateEntry {
  return {
    contentHash: h,
    sourceTime: t,
    sourceKey: 'landing/a.csv',
    sequencer: null,
    manifestKey: 'synced/manifests/M.json',
    batchIndex: 0,
    decidedAt: t,
    ...extra,
  };
}
const decided = (e: ProductStateEntry): StateUpdate => ({ kind: 'decided', entry: e });

let stack: TestStack;
let prefixes = 0;

before(async function () {
  this.timeout(60_000);
  stack = await deployTestStack('state');
});

type Kind = 's3' | 'dynamodb';
function storeOf(kind: Kind, syncedPrefix: string): ProductStateStore {
  return createStateStore(
    {
      stateStore: kind,
      stateTable: stack.outputs.StateTableArn,
      syncedBucket: stack.syncedBucket,
      syncedPrefix,
    },
    { s3: stack.clients.s3, dynamodb: stack.clients.dynamodb },
  );
}

for (const kind of ['s3', 'dynamodb'] as const) {
  describe(`product state store contract (${kind}, moto)`, function () {
    this.timeout(60_000);
    let prefix: string;
    let store: ProductStateStore;
    beforeEach(() => {
      prefix = `synced/contract-${kind}-${++prefixes}/`;
      store = storeOf(kind, prefix);
    });

    it('reads nothing for unknown products, then what was merged, extra fields included', async () => {
      expect((await store.read(['A'])).get('A')).to.equal(undefined);
      const e = { ...entry('h1', T0, { open: true }), lastPrice: '9.99 USD' } as ProductStateEntry;
      await store.merge(new Map([['A', decided(e)]]));
      expect((await store.read(['A', 'B'])).get('A')).to.deep.equal(e);
      expect((await store.read(['A', 'B'])).get('B')).to.equal(undefined);
    });

    it('applies mergeEntry per product: an older stamp never overwrites, settled and bump apply', async () => {
      await store.merge(
        new Map([
          ['A', decided(entry('new', T0 + 5000, { open: true }))],
          ['B', decided(entry('b', T0, { open: true }))],
        ]),
      );
      await store.merge(
        new Map<string, StateUpdate>([
          ['A', decided(entry('old', T0))],
          ['B', { kind: 'settled', manifestKey: 'synced/manifests/M.json', batch: 0, accepted: true }],
        ]),
      );
      const snap = await store.read(['A', 'B']);
      expect(snap.get('A')).to.include({ contentHash: 'new', open: true });
      expect(snap.get('B')).to.include({ contentHash: 'b' }).and.not.to.have.property('open');
      await store.merge(new Map([['B', { kind: 'bump', entry: entry('b', T0 + 9000) }]]));
      expect((await store.read(['B'])).get('B')).to.include({ contentHash: 'b', sourceTime: T0 + 9000 });
    });

    it('a merge on a stale snapshot loses the race, re-reads and re-merges: the newer stamp stays, the rest lands', async () => {
      const other = storeOf(kind, prefix);
      await store.merge(new Map([['A', decided(entry('a0', T0))]]));
      const stale = await store.read(['A', 'B']);
      await other.merge(new Map([['A', decided(entry('a2', T0 + 2000))]]));
      await store.merge(
        new Map([
          ['A', decided(entry('a1', T0 + 1000))],
          ['B', decided(entry('b1', T0 + 1000))],
        ]),
        stale,
      );
      const snap = await store.read(['A', 'B']);
      expect(snap.get('A')).to.include({ contentHash: 'a2' });
      expect(snap.get('B')).to.include({ contentHash: 'b1' });
    });

    it('a settle written over what this process last saw loses to another writer in between, and re-reads', async () => {
      const other = storeOf(kind, prefix);
      await store.merge(new Map([['A', decided(entry('mine', T0, { open: true, manifestKey: 'M1' }))]]));
      await other.merge(
        new Map([['A', decided(entry('theirs', T0 + 1000, { open: true, manifestKey: 'M2' }))]]),
      );
      // Settling M1 must not touch the entry M2 wrote, whatever this process remembers of A.
      await store.merge(new Map([['A', { kind: 'settled', manifestKey: 'M1', batch: 0, accepted: false }]]));
      expect((await other.read(['A'])).get('A')).to.include({
        contentHash: 'theirs',
        manifestKey: 'M2',
        open: true,
      });
      await store.merge(new Map([['A', { kind: 'settled', manifestKey: 'M2', batch: 0, accepted: true }]]));
      expect((await other.read(['A'])).get('A'))
        .to.include({ contentHash: 'theirs', manifestKey: 'M2' })
        .and.not.to.have.property('open');
    });

    it('concurrent writers of the same products lose nothing', async () => {
      const ids = Array.from({ length: 40 }, (_, i) => `P${i}`);
      const writers = [0, 1, 2, 3].map(() => storeOf(kind, prefix));
      // Writer w decides every product with stamp T0+w: the highest stamp must win everywhere.
      await Promise.all(
        writers.map((s, w) =>
          s.merge(new Map(ids.map((id) => [id, decided(entry(`w${w}`, T0 + w * 1000))]))),
        ),
      );
      const snap = await store.read(ids);
      for (const id of ids) expect(snap.get(id), id).to.include({ contentHash: 'w3' });
    });

    it('fencing: a product written under a higher lease token refuses a lower one; unfenced settles still apply', async () => {
      await store.merge(new Map([['A', decided(entry('new', T0, { open: true }))]]), undefined, 7);
      let refused: unknown = null;
      await store
        .merge(new Map([['A', decided(entry('stale', T0 + 1000, { open: true }))]]), undefined, 6)
        .catch((err: unknown) => (refused = err));
      expect(refused).to.be.instanceOf(LeaseLostError);
      expect((await store.read(['A'])).get('A')).to.include({ contentHash: 'new' });
      await store.merge(
        new Map([
          ['A', { kind: 'settled', manifestKey: 'synced/manifests/M.json', batch: 0, accepted: true }],
        ]),
      );
      expect((await store.read(['A'])).get('A')).not.to.have.property('open');
      await store.merge(new Map([['A', decided(entry('next', T0 + 2000))]]), undefined, 8);
      expect((await store.read(['A'])).get('A')).to.include({ contentHash: 'next' });
    });

    it('lists every entry of its own prefix only', async () => {
      await store.merge(
        new Map([
          ['A', decided(entry('a', T0))],
          ['B', decided(entry('b', T0))],
        ]),
      );
      await storeOf(kind, `${prefix}nested/`).merge(new Map([['C', decided(entry('c', T0))]]));
      const all = new Map<string, ProductStateEntry>();
      for await (const [id, e] of store.entries()) all.set(id, e);
      expect([...all.keys()].sort()).to.deep.equal(['A', 'B']);
    });
  });
}

describe('DynamoDB product state store (moto)', function () {
  this.timeout(60_000);

  /** Counts requests per operation and the bytes of their bodies, as the benchmark does. */
  function counted() {
    const counts = new Map<string, number>();
    const add = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
    const mw = (service: string) =>
      ((next: (a: unknown) => Promise<unknown>, ctx: { commandName?: string }) => async (a: unknown) => {
        add(`${service}:${ctx.commandName ?? '?'}`);
        return next(a);
      }) as never;
    return { counts, mw };
  }

  function dynamoStore(prefix: string, legacy = true): DynamoStateStore {
    return new DynamoStateStore({
      dynamodb: stack.clients.dynamodb,
      table: stack.outputs.StateTableArn!,
      syncedPrefix: prefix,
      legacy: legacy
        ? new S3StateStore({ s3: stack.clients.s3, bucket: stack.syncedBucket, syncedPrefix: prefix })
        : undefined,
    });
  }

  it('is deployed from infra/storage.yml: on-demand, encrypted, point-in-time recovery on', async () => {
    const { DescribeTableCommand, DescribeContinuousBackupsCommand } =
      await import('@aws-sdk/client-dynamodb');
    const table = stack.outputs.StateTableName!;
    expect(table).to.equal(`catalog-sync-${stack.stage}-state`);
    const d = await stack.clients.dynamodb.send(new DescribeTableCommand({ TableName: table }));
    expect(d.Table?.BillingModeSummary?.BillingMode).to.equal('PAY_PER_REQUEST');
    // moto's CloudFormation takes SSESpecification (SSEEnabled) but its DescribeTable only reports the API's
    // spelling (Enabled); the template is what AWS applies.
    const { loadTemplate } = await import('../../tools/local-aws/cfn-template.ts');
    const { STORAGE_TEMPLATE } = await import('../../tools/local-aws/provision.ts');
    const props = (await loadTemplate(STORAGE_TEMPLATE)).template.Resources.StateTable!.Properties!;
    expect(props.SSESpecification).to.deep.equal({ SSEEnabled: true, SSEType: 'KMS' });
    expect(stack.outputs.StateTableArn).to.equal(d.Table?.TableArn);
    const b = await stack.clients.dynamodb.send(new DescribeContinuousBackupsCommand({ TableName: table }));
    expect(
      b.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus,
    ).to.equal('ENABLED');
  });

  it('reads 100 keys a request and writes 100 items a transaction: requests follow the change, not the catalog', async () => {
    const store = dynamoStore('synced/requests/', false);
    const { counts, mw } = counted();
    stack.clients.dynamodb.middlewareStack.add(mw('ddb'), { step: 'initialize', name: 'countRequests' });
    try {
      const ids = Array.from({ length: 250 }, (_, i) => `R${i}`);
      const snap = await store.read(ids);
      expect(counts.get('ddb:BatchGetItemCommand')).to.equal(3);
      await store.merge(new Map(ids.map((id) => [id, decided(entry('r', T0, { open: true }))])), snap, 3);
      expect(counts.get('ddb:TransactWriteItemsCommand')).to.equal(3);
      expect(counts.get('ddb:UpdateItemCommand')).to.equal(1); // the scope's fence
      // The settle after the batch is final writes over the versions just written: no read first.
      await store.merge(
        new Map(
          ids.map((id) => [
            id,
            { kind: 'settled', manifestKey: 'synced/manifests/M.json', batch: 0, accepted: true },
          ]),
        ),
      );
      expect(counts.get('ddb:BatchGetItemCommand')).to.equal(3);
      expect(counts.get('ddb:TransactWriteItemsCommand')).to.equal(6);
    } finally {
      stack.clients.dynamodb.middlewareStack.remove('countRequests');
    }
  });

  it("reads today's S3 shards for products the table lacks, keeps their fence, and writes them into the table", async () => {
    const prefix = 'synced/legacy/';
    // A fixture in today's format, written by the S3 store itself: a shard with a fence of 7.
    const s3Store = new S3StateStore({
      s3: stack.clients.s3,
      bucket: stack.syncedBucket,
      syncedPrefix: prefix,
    });
    await s3Store.merge(
      new Map([
        ['OLD-1', decided(entry('old1', T0))],
        ['OLD-2', decided(entry('old2', T0))],
      ]),
      undefined,
      7,
    );
    const shardsBefore = new Map<string, unknown>();
    for await (const [name, shard] of s3Store.shards()) shardsBefore.set(name, shard);

    const store = dynamoStore(prefix);
    const snap = await store.read(['OLD-1', 'OLD-2', 'NEW-1']);
    expect(snap.get('OLD-1')).to.include({ contentHash: 'old1' });
    expect(snap.get('NEW-1')).to.equal(undefined);
    // The shard's fence holds for its products: a lower token is refused.
    let refused: unknown = null;
    await store
      .merge(new Map([['OLD-1', decided(entry('stale', T0 + 1000))]]), undefined, 6)
      .catch((err: unknown) => (refused = err));
    expect(refused).to.be.instanceOf(LeaseLostError);
    // mergeEntry against the S3 entry: older loses, newer lands in the table; the shards are untouched.
    await store.merge(
      new Map([
        ['OLD-1', decided(entry('older', T0 - 1000))],
        ['OLD-2', decided(entry('newer', T0 + 1000))],
        ['NEW-1', decided(entry('new1', T0))],
      ]),
      undefined,
      8,
    );
    const after = await dynamoStore(prefix).read(['OLD-1', 'OLD-2', 'NEW-1']);
    expect(after.get('OLD-1')).to.include({ contentHash: 'old1' });
    expect(after.get('OLD-2')).to.include({ contentHash: 'newer' });
    expect(after.get('NEW-1')).to.include({ contentHash: 'new1' });
    const shardsAfter = new Map<string, unknown>();
    for await (const [name, shard] of s3Store.shards()) shardsAfter.set(name, shard);
    expect(shardsAfter).to.deep.equal(shardsBefore);
    // Whole-state readers see both: the table's items and the shards' products it does not hold.
    const all = new Map<string, ProductStateEntry>();
    for await (const [id, e] of store.entries()) all.set(id, e);
    expect(Object.fromEntries([...all].map(([id, e]) => [id, e.contentHash]))).to.deep.equal({
      'OLD-1': 'old1',
      'OLD-2': 'newer',
      'NEW-1': 'new1',
    });
  });

  it('migrate copies the shards in (keeping newer items), marks the scope, and S3 is not read again', async () => {
    const prefix = 'synced/migrate/';
    const s3Store = new S3StateStore({
      s3: stack.clients.s3,
      bucket: stack.syncedBucket,
      syncedPrefix: prefix,
    });
    const ids = Array.from({ length: 150 }, (_, i) => `M${i}`);
    await s3Store.merge(new Map(ids.map((id) => [id, decided(entry('s3', T0))])), undefined, 4);
    const store = dynamoStore(prefix);
    await store.merge(new Map([['M0', decided(entry('table', T0 + 1000))]]), undefined, 5);
    const result = await store.migrate();
    expect(result).to.deep.equal({ copied: 149, kept: 1 });

    const { counts, mw } = counted();
    stack.clients.s3.middlewareStack.add(mw('s3'), { step: 'initialize', name: 'countS3' });
    try {
      const fresh = dynamoStore(prefix);
      const snap = await fresh.read([...ids, 'UNKNOWN']);
      expect(snap.get('M0')).to.include({ contentHash: 'table' });
      expect(snap.get('M1')).to.include({ contentHash: 's3' });
      expect(snap.get('UNKNOWN')).to.equal(undefined);
      // Migrated products keep their shard's fence.
      let refused: unknown = null;
      await fresh
        .merge(new Map([['M1', decided(entry('stale', T0 + 1000))]]), undefined, 3)
        .catch((err: unknown) => (refused = err));
      expect(refused).to.be.instanceOf(LeaseLostError);
      expect([...counts.keys()].filter((k) => k.startsWith('s3:'))).to.deep.equal([]);
    } finally {
      stack.clients.s3.middlewareStack.remove('countS3');
    }
  });

  it('a prefix with no S3 shard is marked on first use: misses never go to S3 again', async () => {
    const prefix = 'synced/fresh/';
    await dynamoStore(prefix).read(['X']); // one LIST finds no shard and marks the scope
    const { counts, mw } = counted();
    stack.clients.s3.middlewareStack.add(mw('s3'), { step: 'initialize', name: 'countS3' });
    try {
      const store = dynamoStore(prefix);
      await store.read(['X', 'Y']);
      await store.merge(new Map([['Y', decided(entry('y', T0))]]));
      expect((await store.read(['Y'])).get('Y')).to.include({ contentHash: 'y' });
      expect(counts.size).to.equal(0);
    } finally {
      stack.clients.s3.middlewareStack.remove('countS3');
    }
  });

  it('a holder that stalls past its expiry is fenced off: its state writes are refused, even for products the new holder has not touched', async () => {
    const lease = (ttlMs: number, now?: () => number) =>
      new CatalogLease({
        s3: stack.clients.s3,
        bucket: stack.syncedBucket,
        syncedPrefix: 'synced/',
        catalogId: 'ddb-fence',
        ttlMs,
        ...(now ? { now } : {}),
      });
    const frozenAt = Date.now();
    const stalled = await lease(600, () => frozenAt).acquire();
    const taker = await lease(600).acquire(); // waits for the expiry in real time
    expect(taker.token).to.equal(stalled.token + 1);

    const store = dynamoStore('synced/ddb-fence/');
    const e = (h: string) => entry(h, Date.now(), { open: true });
    await store.merge(new Map([['P1', decided(e('new'))]]), undefined, taker.token);
    for (const id of ['P1', 'P2']) {
      let refused: unknown = null;
      await store
        .merge(new Map([[id, decided(e('stale'))]]), undefined, stalled.token)
        .catch((err: unknown) => (refused = err));
      expect(refused, id).to.be.instanceOf(LeaseLostError);
    }
    const snap = await store.read(['P1', 'P2']);
    expect(snap.get('P1')).to.include({ contentHash: 'new' });
    expect(snap.get('P2')).to.equal(undefined);
    if (!stalled.signal.aborted) {
      await new Promise<void>((resolve) =>
        stalled.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    }
    await stalled.release();
    await taker.release();
  });
});
