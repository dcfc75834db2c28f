import { emptyCounts, type RowCounts, type WindowSource } from '../../src/worker/window-buffer.ts';

/** A landing file as a window records it, for tests of pure flush code: only the key and counts vary. */
export function windowSource(key: string, rows: Partial<RowCounts> = {}): WindowSource {
  return {
    bucket: 'b',
    key,
    etag: 'e',
    versionId: null,
    sequencer: null,
    eventTime: 1000,
    size: null,
    fileError: null,
    errorReportKey: null,
    rows: { ...emptyCounts(), ...rows },
  };
}
