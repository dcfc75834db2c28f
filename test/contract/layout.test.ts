import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as layout from '../../src/contract/layout.ts';

/**
 * schemas/storage-layout.json is the layout both languages follow; the DAG builds its keys from it, the
 * TypeScript key functions are written out: each must produce keys its pattern matches.
 */

interface Layout {
  placeholders: Record<string, { match: string; description: string }>;
  keys: Record<string, { bucket: string; pattern: string; description: string }>;
  folders: Record<string, { bucket: string; pattern: string; description: string }>;
}

const doc = JSON.parse(
  readFileSync(path.join(import.meta.dirname, '..', '..', 'schemas', 'storage-layout.json'), 'utf8'),
) as Layout;

function regexOf(pattern: string): RegExp {
  let out = '';
  for (const part of pattern.split(/(\{\w+\})/)) {
    const name = /^\{(\w+)\}$/.exec(part)?.[1];
    if (name === undefined) out += part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else {
      const placeholder = doc.placeholders[name];
      if (!placeholder) throw new Error(`pattern ${pattern} names an undeclared placeholder ${name}`);
      out += `(?:${placeholder.match})`;
    }
  }
  return new RegExp(`^${out}$`);
}

const manifest = { window: '2026-11-25T17:00:00Z', manifestId: '2026-11-25T17-mi5x8k2a-0a1b2c3d' };
const at = new Date('2026-11-25T17:42:07.123Z');

/** Each layout entry with keys built by the TypeScript functions, for two sets of prefixes. */
const built: Record<string, (p: Record<string, string>) => string> = {
  archivedFile: (p) => layout.archivedFileKey(p.landing!, p.archive!, `${p.landing}2026/11/25/export 1.csv`),
  manifestFolder: (p) => layout.manifestFolder(p.synced!, manifest.window),
  manifest: (p) => layout.manifestKey(p.synced!, manifest.window, manifest.manifestId),
  batchPayload: (p) => layout.payloadKey(p.synced!, manifest.manifestId, 12),
  stateShard: (p) => layout.shardKey(p.synced!, layout.shardOf('SKU-1')),
  lease: (p) => layout.leaseKey(p.synced!, '1234567890'),
  guardrailHistory: (p) => layout.guardrailHistoryKey(p.synced!),
  driftReport: (p) => layout.driftReportKey(p.synced!, at.getTime()),
  redriveClaim: (p) =>
    layout.redriveClaimKey(
      layout.redriveClaimsFolder(p.synced!, 'https://sqs.eu-west-1.amazonaws.com/123/catalog-sync-dlq'),
      'a1b2-c3/d4',
    ),
  rowReport: (p) => layout.rowReportKey(p.errors!, `${p.landing}2026/11/25/export 1.csv`, '"abc-2"', at),
  metaReport: (p) => layout.metaReportKey(p.errors!, manifest),
  unknownReport: (p) => layout.unknownReportKey(p.errors!, manifest),
};
const builtFolders: Record<string, (p: Record<string, string>) => string> = {
  manifests: (p) => layout.manifestsFolder(p.synced!),
  stateShards: (p) => layout.stateFolder(p.synced!),
  driftReports: (p) => layout.driftFolder(p.synced!),
  redriveClaims: (p) => layout.redriveClaimsFolder(p.synced!, 'https://sqs.example/1/dlq/'),
  sweepMarkers: (p) => layout.sweepMarkersFolder(p.synced!, 'recheck'),
  rowReports: (p) => layout.rowReportsFolder(p.errors!),
  metaReports: (p) => layout.metaReportsFolder(p.errors!),
  unknownReports: (p) => layout.unknownReportsFolder(p.errors!),
};

const prefixSets = [
  { landing: 'landing/', archive: 'archive/', synced: 'synced/', errors: 'errors/' },
  { landing: 'in/acme/', archive: 'done/acme/', synced: '', errors: 'err/acme/' },
];

describe('contract: storage layout (schemas/storage-layout.json)', () => {
  for (const [name, build] of Object.entries(built)) {
    it(`${name}: the TypeScript key matches ${doc.keys[name]?.pattern}`, () => {
      expect(doc.keys[name], `no key ${name} in the layout`).to.not.equal(undefined);
      for (const p of prefixSets) expect(build(p)).to.match(regexOf(doc.keys[name]!.pattern));
    });
  }
  for (const [name, build] of Object.entries(builtFolders)) {
    it(`folder ${name}: the TypeScript prefix matches ${doc.folders[name]?.pattern}`, () => {
      expect(doc.folders[name], `no folder ${name} in the layout`).to.not.equal(undefined);
      for (const p of prefixSets) expect(build(p)).to.match(regexOf(doc.folders[name]!.pattern));
    });
  }

  it('every documented key and placeholder is used, and every key has a bucket and a description', () => {
    const used = new Set(
      [...Object.values(doc.keys), ...Object.values(doc.folders)].flatMap((k) =>
        [...k.pattern.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!),
      ),
    );
    expect([...used].sort()).to.deep.equal(Object.keys(doc.placeholders).sort());
    for (const k of [...Object.values(doc.keys), ...Object.values(doc.folders)]) {
      expect(['landing', 'synced']).to.include(k.bucket);
      expect(k.description).to.be.a('string').and.not.equal('');
    }
    // Keys only the producer and the DAG write have no TypeScript function.
    const dagOnly = ['landingFile', 'stragglerMarker', 'recheckMarker', 'driftCheckMarker'];
    expect(Object.keys(doc.keys).sort()).to.deep.equal([...Object.keys(built), ...dagOnly].sort());
  });

  it('a pattern rejects a key of another layout', () => {
    expect('synced/manifests/2026-11-25/x.json').to.not.match(regexOf(doc.keys.manifest!.pattern));
    expect('synced/state/zz.json').to.not.match(regexOf(doc.keys.stateShard!.pattern));
  });
});
