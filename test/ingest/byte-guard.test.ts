import { expect } from 'chai';
import { firstInvalidUtf8, incompleteTail } from '../../src/ingest/byte-guard.ts';

describe('ingest byte guard helpers', () => {
  it('finds a UTF-8 sequence cut at the end of a chunk', () => {
    const tea = Buffer.from('a🍵'); // 'a' + 4 bytes
    expect(incompleteTail(tea)).to.equal(0);
    expect(incompleteTail(tea.subarray(0, 2))).to.equal(1);
    expect(incompleteTail(tea.subarray(0, 4))).to.equal(3);
    expect(incompleteTail(Buffer.from('é').subarray(0, 1))).to.equal(1);
    expect(incompleteTail(Buffer.from('abc'))).to.equal(0);
  });

  it('locates the first byte that breaks UTF-8 (Latin-1, overlong, surrogate, truncated)', () => {
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xe9, 0x63]))).to.equal(2); // "abéc" in Latin-1
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0x80]))).to.equal(1); // overlong NUL
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).to.equal(0); // UTF-16 surrogate
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xe2, 0x82]))).to.equal(1); // cut short
    expect(firstInvalidUtf8(Buffer.from('héllo 🍵'))).to.equal(Buffer.byteLength('héllo 🍵'));
  });
});
