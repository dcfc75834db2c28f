import { GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { shardKey, shardOf } from '../../src/contract/layout.ts';
import {
  StateFormatError,
  assertEntryFields,
  entryFromV1,
  readShard,
  type ProductStateEntry,
  type ProductStateEntryV1,
} from '../../src/contract/product-state.ts';
import { getJson, putJson } from '../../src/shared/s3-json.ts';
import { LeaseLostError } from '../../src/state/catalog-lease.ts';
import { DynamoStateStore } from '../../src/state/dynamo-state-store.ts';
import { S3StateStore } from '../../src/state/product-state-store.ts';
import { deployTestStack, type TestStack } from '../support/sandbox-harness.ts';

/**
 * Product state written before the fields were named (format 1, test/fixtures/legacy/) still loads in both
 * stores, and the next write stores it as format 2 with nothing lost.
 */

const fixture = async <T>(name: string): Promise<T> =>
  JSON.parse(await readFile(path.join(import.meta.dirname, '..', 'fixtures', 'legacy', name), 'utf8')) as T;

const SETTLE = 'synced/manifests/2025-11-27T16/2025-11-27T16-legacy.json';

describe('product state formats: format 1 entries', () => {
  it('convert field by field, optional fields kept only when present', () => {
    const full: ProductStateEntryV1 = {
      h: 'hash',
      t: 1,
      s: 'landing/a.csv',
      q: 'Q',
      v: 3,
      e: 'etag',
      m: 'M',
      b: 2,
      at: 4,
      open: true,
      u: 5,
      p: '9.99 USD',
      a: 'in stock',
    };
    expect(entryFromV1(full)).to.deep.equal({
      contentHash: 'hash',
      sourceTime: 1,
      sourceKey: 'landing/a.csv',
      sequencer: 'Q',
      version: 3,
      etag: 'etag',
      manifestKey: 'M',
      batchIndex: 2,
      decidedAt: 4,
      open: true,
      settleUntil: 5,
      lastPrice: '9.99 USD',
      lastAvailability: 'in stock',
    });
    const { v: _v, e: _e, open: _o, u: _u, p: _p, a: _a, ...bare } = full;
    expect(Object.keys(entryFromV1(bare)).sort()).to.deep.equal(
      [
        'contentHash',
        'sourceTime',
        'sourceKey',
        'sequencer',
        'manifestKey',
        'batchIndex',
        'decidedAt',
      ].sort(),
    );
  });

  it('a shard of an unknown format is refused, not read as empty', () => {
    expect(() => readShard({ v: 3, products: {} }, 'shard 00')).to.throw(StateFormatError, /v=3/);
    expect(() => readShard({ products: {} }, 'shard 00')).to.throw(StateFormatError);
  });
});

const DECIDED: ProductStateEntry = {
  contentHash: 'h',
  sourceTime: 1,
  sourceKey: 'landing/a.csv',
  sequencer: 'Q',
  manifestKey: 'M',
  batchIndex: 0,
  decidedAt: 2,
  open: true,
};

describe('product state formats: an entry with a format 1 field is refused', () => {
  // Entries are built with spreads, which tsc does not check against the interface: `...(u ? { u } : {})`
  // once stored the settle mark under its old name, where the send gate never looks.
  const entry: ProductStateEntry = { ...DECIDED, settleUntil: 3 };

  it('accepts every format 2 field', () => {
    expect(() =>
      assertEntryFields('P1', { ...entry, version: 1, etag: 'e', lastPrice: '1 USD' }),
    ).not.to.throw();
  });

  it('names the product and the stray field', () => {
    const stray = { ...entry, ...{ u: 3 } } as ProductStateEntry;
    expect(() => assertEntryFields('P1', stray)).to.throw(StateFormatError, /P1.*: u$/);
  });
});

describe('product state formats: stores on moto', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async function () {
    stack = await deployTestStack('state-formats');
  });

  it('S3: a format 1 shard loads, and a write rewrites it as format 2 with every product kept', async () => {
    const prefix = 'synced/v1-shard/';
    const shard = await fixture<{ v: 1; products: Record<string, ProductStateEntryV1> }>('state-shard.json');
    const key = shardKey(prefix, shardOf('L1'));
    await putJson(stack.clients.s3, stack.syncedBucket, key, shard);
    const store = new S3StateStore({
      s3: stack.clients.s3,
      bucket: stack.syncedBucket,
      syncedPrefix: prefix,
    });
    const old = entryFromV1(shard.products.L1!);
    expect((await store.read(['L1'])).get('L1')).to.deep.equal(old);

    // A product of the same shard written next to it: the shard is rewritten whole.
    let other = 'N0';
    for (let i = 1; shardOf(other) !== shardOf('L1'); i++) other = `N${i}`;
    const next: ProductStateEntry = { ...old, contentHash: 'new', sourceTime: old.sourceTime + 1000 };
    await store.merge(new Map([[other, { kind: 'decided', entry: next }]]));

    const stored = (await getJson<Record<string, unknown>>(stack.clients.s3, stack.syncedBucket, key))!.value;
    expect(stored).to.deep.equal({ v: 2, products: { L1: old, [other]: next } });
  });

  it('both stores refuse to write a decided entry with a format 1 field, and store nothing', async () => {
    const stray = { ...DECIDED, ...{ u: 99 } } as ProductStateEntry;
    const s3Store = new S3StateStore({
      s3: stack.clients.s3,
      bucket: stack.syncedBucket,
      syncedPrefix: 'synced/stray/',
    });
    const dynamo = new DynamoStateStore({
      dynamodb: stack.clients.dynamodb,
      table: stack.outputs.StateTableArn!,
      syncedPrefix: 'synced/stray/',
    });
    for (const store of [s3Store, dynamo]) {
      let err: unknown;
      await store
        .merge(new Map([['S1', { kind: 'decided', entry: stray }]]))
        .catch((e: unknown) => (err = e));
      expect(err, store.constructor.name).to.be.instanceOf(StateFormatError);
      expect((await store.read(['S1'])).get('S1'), store.constructor.name).to.equal(undefined);
    }
  });

  it('DynamoDB: a format 1 item loads with its counter and fence, and a write over it stores format 2', async () => {
    const prefix = 'synced/v1-item/';
    const store = new DynamoStateStore({
      dynamodb: stack.clients.dynamodb,
      table: stack.outputs.StateTableArn!,
      syncedPrefix: prefix,
    });
    const item = await fixture<Record<string, AttributeValue>>('dynamo-item.json');
    item.pk = { S: store.productKey('L1') };
    const table = stack.outputs.StateTableArn!;
    await stack.clients.dynamodb.send(new PutItemCommand({ TableName: table, Item: item }));
    const old = entryFromV1(JSON.parse(item.e!.S!) as ProductStateEntryV1);

    const snap = await store.read(['L1']);
    expect(snap.get('L1')).to.deep.equal(old);
    expect(snap.items.get('L1')).to.include({ revision: 3, fence: 4, format: 1 });
    // Its fence (4, from `f`) still holds.
    let refused: unknown = null;
    await store
      .merge(new Map([['L1', { kind: 'settled', manifestKey: SETTLE, batch: 0, accepted: true }]]), snap, 3)
      .catch((err: unknown) => (refused = err));
    expect(refused).to.be.instanceOf(LeaseLostError);

    // A settle writes over it (conditional on its `n`): format 2, counter one up, fence kept.
    await store.merge(
      new Map([['L1', { kind: 'settled', manifestKey: SETTLE, batch: 0, accepted: true }]]),
      snap,
    );
    const got = await stack.clients.dynamodb.send(
      new GetItemCommand({ TableName: table, Key: { pk: item.pk }, ConsistentRead: true }),
    );
    const written = got.Item!;
    expect(Object.keys(written).sort()).to.deep.equal(['entry', 'fence', 'pk', 'revision', 'v']);
    expect(written).to.deep.include({ v: { N: '2' }, revision: { N: '4' }, fence: { N: '4' } });
    const { open: _open, ...settled } = old;
    expect(JSON.parse(written.entry!.S!)).to.deep.equal(settled);
    expect((await store.read(['L1'])).get('L1')).to.deep.equal(settled);
  });
});
