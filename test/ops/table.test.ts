import { expect } from 'chai';
import { formatTable } from '../../src/ops/table.ts';

describe('formatTable', () => {
  it('aligns columns, numbers to the right, empty cells as "-", long text cut with an ellipsis', () => {
    const rows = [
      { name: 'alpha', n: 5, note: null },
      { name: 'b', n: 1234, note: 'a very long note that goes on' },
    ];
    const text = formatTable(
      [
        { header: 'NAME', value: (r) => r.name },
        { header: 'N', value: (r) => r.n },
        { header: 'NOTE', value: (r) => r.note, maxWidth: 10 },
      ],
      rows,
    );
    expect(text.split('\n')).to.deep.equal([
      'NAME      N  NOTE',
      'alpha     5  -',
      'b      1234  a very lo…',
    ]);
  });
});
