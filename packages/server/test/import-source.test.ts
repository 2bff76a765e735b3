import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_ROW_BYTES, readRows } from '../src/services/imports/source.js';

async function rowsOf(text: string) {
  const rows = [];
  for await (const row of readRows(Readable.from([text]), 'csv')) rows.push(row);
  return rows;
}

describe('reading an import source', () => {
  it('reads CSV rows after the header', async () => {
    expect(await rowsOf('name,age\nAma,3\nKondwani,5\n')).toEqual([
      { row: 1, values: { name: 'Ama', age: '3' } },
      { row: 2, values: { name: 'Kondwani', age: '5' } },
    ]);
  });

  it('stops at a row larger than its bound instead of holding the rest of the file', async () => {
    // An unclosed quote: everything after it would be one cell.
    const rest = 'x,1\n'.repeat(MAX_ROW_BYTES / 2);
    await expect(rowsOf(`name,age\n"Ama,3\n${rest}`)).rejects.toThrow(/max_record_size|maximum/i);
  });
});
