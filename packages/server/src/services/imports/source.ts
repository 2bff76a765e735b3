import { parse } from 'csv-parse';
import type { Readable } from 'node:stream';
import split from 'split2';
import type { SourceRow } from './mapping.js';

export type ImportFormat = 'csv' | 'jsonl';

/**
 * The most one row (a CSV row, a JSON line) may hold, in characters. An unclosed quote or a
 * missing newline would otherwise gather the rest of the file into one row in memory; past this
 * the import stops and says why.
 */
export const MAX_ROW_BYTES = 64 * 1024;

const TOO_LONG = `a line holds more than ${MAX_ROW_BYTES / 1024} KiB; the import stops there`;

/** A row read from the source, or why it could not be read; `row` counts from 1 (after a header). */
export type ReadRow = { row: number; values: SourceRow } | { row: number; error: string };

/**
 * The rows of a CSV (a header line, then one row a line, through csv-parse) or a JSON lines
 * source, read as a stream: memory holds a row at a time, whatever the file's size. A line that
 * does not parse is a row with an error; reading goes on.
 */
export async function* readRows(
  input: Readable,
  format: ImportFormat,
  delimiter = ',',
): AsyncGenerator<ReadRow> {
  if (format === 'jsonl') {
    let row = 0;
    for await (const line of linesOf(input)) {
      if (line.trim() === '') continue;
      row += 1;
      try {
        const value: unknown = JSON.parse(line);
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
          yield { row, values: value as SourceRow };
        } else {
          yield { row, error: 'the line is not a JSON object' };
        }
      } catch {
        yield { row, error: 'the line is not valid JSON' };
      }
    }
    return;
  }
  const parser = input.pipe(
    parse({
      columns: true,
      bom: true,
      delimiter,
      skip_empty_lines: true,
      trim: false,
      // A row with too few or too many cells is reported, not fatal.
      skip_records_with_error: false,
      relax_column_count: true,
      max_record_size: MAX_ROW_BYTES,
    }),
  );
  let row = 0;
  for await (const record of parser as AsyncIterable<Record<string, string>>) {
    row += 1;
    yield { row, values: record };
  }
}

/**
 * The lines of a source, each at most MAX_ROW_BYTES: split2 stops when a line's unfinished part
 * outgrows its maxLength, and a whole line longer than that (arrived in one chunk) is refused here.
 */
async function* linesOf(input: Readable): AsyncGenerator<string> {
  const lines = input.pipe(
    split(
      (line: string) => {
        if (line.length > MAX_ROW_BYTES) throw new Error(TOO_LONG);
        return line;
      },
      { maxLength: MAX_ROW_BYTES },
    ),
  );
  input.on('error', (error) => lines.destroy(error));
  try {
    yield* lines as AsyncIterable<string>;
  } catch (error) {
    if (error instanceof Error && error.message === 'maximum buffer reached')
      throw new Error(TOO_LONG, { cause: error });
    throw error;
  }
}
