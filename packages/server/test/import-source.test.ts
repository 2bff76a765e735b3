import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_ROW_BYTES, readRows } from '../src/services/imports/source.js';

async function rowsOf(text: string | string[], format: 'csv' | 'jsonl' = 'csv') {
  const rows = [];
  const chunks = typeof text === 'string' ? [text] : text;
  for await (const row of readRows(Readable.from(chunks), format)) rows.push(row);
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

  it('reads JSON lines, each row or why it is not one', async () => {
    expect(await rowsOf('{"name":"Ama"}\r\n\n[1]\n{"name":\n', 'jsonl')).toEqual([
      { row: 1, values: { name: 'Ama' } },
      { row: 2, error: 'the line is not a JSON object' },
      { row: 3, error: 'the line is not valid JSON' },
    ]);
  });

  it('stops at a JSON line larger than its bound, whether it comes whole or in pieces', async () => {
    const long = `{"name":"${'x'.repeat(MAX_ROW_BYTES)}"}`;
    // Whole, in one chunk.
    await expect(rowsOf(`{"name":"Ama"}\n${long}\n`, 'jsonl')).rejects.toThrow(/more than 64 KiB/);
    // With no newline, in chunks: never held whole.
    const pieces = Array.from({ length: 64 }, () => 'y'.repeat(4096));
    await expect(rowsOf(['{"name":"', ...pieces], 'jsonl')).rejects.toThrow(/more than 64 KiB/);
  });
});
