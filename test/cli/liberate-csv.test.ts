import fc from 'fast-check';
import { Readable } from 'node:stream';
import { CsvParser, readCsvRows, type CsvRow } from '../../shared/cli/liberate/csv-parser';

/** Every row of `text`, fed to the parser in the chunks given (the whole text at once by default). */
function parse(text: string, chunkSizes: readonly number[] = [text.length]): CsvRow[] {
  const parser = new CsvParser();
  const rows: CsvRow[] = [];
  let at = 0;
  for (const size of chunkSizes) {
    rows.push(...parser.push(text.slice(at, at + size)));
    at += size;
  }
  rows.push(...parser.push(text.slice(at)), ...parser.end());
  return rows;
}

const cellsOf = (rows: readonly CsvRow[]) => rows.map((row) => row.cells);

describe('Class: CsvParser', () => {
  it('splits cells on commas and rows on LF', () => {
    expect(parse('id,name\n1,Ann\n2,Bob\n')).toEqual([
      { line: 1, endLine: 1, cells: ['id', 'name'], problem: undefined },
      { line: 2, endLine: 2, cells: ['1', 'Ann'], problem: undefined },
      { line: 3, endLine: 3, cells: ['2', 'Bob'], problem: undefined },
    ]);
  });

  it('keeps commas inside a quoted cell', () => {
    expect(cellsOf(parse('a,b\n"Deals, week 1",2\n'))).toEqual([
      ['a', 'b'],
      ['Deals, week 1', '2'],
    ]);
  });

  it('reads a doubled quote inside a quoted cell as one quote', () => {
    expect(cellsOf(parse('a\n"say ""hi"""\n""""\n'))).toEqual([['a'], ['say "hi"'], ['"']]);
  });

  it('keeps a newline inside a quoted cell, numbering the row by the line it starts on', () => {
    const rows = parse('id,note\n1,"first line\nsecond line"\n2,plain\n');

    expect(rows.map(({ line, endLine, cells }) => ({ line, endLine, cells }))).toEqual([
      { line: 1, endLine: 1, cells: ['id', 'note'] },
      { line: 2, endLine: 3, cells: ['1', 'first line\nsecond line'] },
      { line: 4, endLine: 4, cells: ['2', 'plain'] },
    ]);
  });

  it('ends rows on CRLF, keeping a CRLF inside a quoted cell', () => {
    expect(parse('a,b\r\n1,"x\r\ny"\r\n2,z\r\n').map(({ line, cells }) => [line, cells])).toEqual([
      [1, ['a', 'b']],
      [2, ['1', 'x\r\ny']],
      [4, ['2', 'z']],
    ]);
  });

  it('drops a byte-order mark before the first cell', () => {
    expect(cellsOf(parse('\uFEFFid,name\n1,Ann\n'))).toEqual([
      ['id', 'name'],
      ['1', 'Ann'],
    ]);
    expect(cellsOf(parse('\uFEFF"id",name\n'))).toEqual([['id', 'name']]);
  });

  it('reads the last row without a line break at the end, and no row from an empty trailing line', () => {
    expect(cellsOf(parse('a,b\n1,2'))).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(cellsOf(parse('a,b\n1,2\n'))).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(cellsOf(parse('a,b\r\n1,2\r\n\r\n'))).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('skips empty lines but counts them', () => {
    expect(parse('a\n\n1\n\r\n2\n').map(({ line, cells }) => [line, cells])).toEqual([
      [1, ['a']],
      [3, ['1']],
      [5, ['2']],
    ]);
  });

  it('gives short and long rows as they are, with their line numbers, for the caller to refuse', () => {
    expect(parse('a,b,c\n1,2\n1,2,3,4\n,,\n').map(({ line, cells }) => [line, cells])).toEqual([
      [1, ['a', 'b', 'c']],
      [2, ['1', '2']],
      [3, ['1', '2', '3', '4']],
      [4, ['', '', '']],
    ]);
  });

  it('keeps empty cells, quoted or not, and a quote inside an unquoted cell', () => {
    expect(cellsOf(parse('a,"",c,\n5\'11",x,y,z\n'))).toEqual([
      ['a', '', 'c', ''],
      ['5\'11"', 'x', 'y', 'z'],
    ]);
  });

  it('marks a row with text after a closing quote as malformed', () => {
    const [row] = parse('"ab"c,d\n');

    expect(row).toMatchObject({ line: 1, problem: 'text after the closing quote of cell 1' });
  });

  it('marks a quoted cell never closed as malformed, naming the line it opened on', () => {
    const rows = parse('a,b\n1,2\n3,"open\n4,5\n');

    expect(rows[2]).toEqual({
      line: 3,
      endLine: 4,
      cells: ['3', 'open\n4,5\n'],
      problem: 'the quoted cell 2 opened on line 3 is never closed',
    });
  });

  it('reads the same rows however the text is split into chunks', () => {
    const text = '\uFEFFid,note\r\n1,"a ""b"", c\r\nd"\r\n2,e\r\n';
    const whole = parse(text);

    for (let split = 0; split <= text.length; split += 1) expect(parse(text, [split])).toEqual(whole);
    expect(
      parse(
        text,
        Array.from({ length: text.length }, () => 1),
      ),
    ).toEqual(whole);
  });

  it('reads back any table written by the RFC 4180 rules, in any chunks', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'b', ' ', ',', '"', '\n', '\r\n', 'é', '😀') });
    const table = fc
      .integer({ min: 1, max: 4 })
      .chain((width) => fc.array(fc.array(cell, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 6 }));
    fc.assert(
      fc.property(table, fc.boolean(), fc.array(fc.integer({ min: 0, max: 7 })), (rows, crlf, chunks) => {
        // A row of one empty cell is an empty line, which is no row: quote it, as writers do.
        const quote = (value: string) => `"${value.replaceAll('"', '""')}"`;
        const text = rows
          .map((row) => row.map((value) => (/[",\r\n]/.test(value) || row.length === 1 ? quote(value) : value)).join(','))
          .join(crlf ? '\r\n' : '\n');

        expect(cellsOf(parse(text, chunks))).toEqual(rows);
      }),
    );
  });
});

describe('Function: readCsvRows', () => {
  it('reads rows from a stream of text chunks', async () => {
    const rows: CsvRow[] = [];
    for await (const row of readCsvRows(Readable.from(['id,no', 'te\n1,"x\n', 'y"\n']))) rows.push(row);

    expect(rows.map(({ line, cells }) => [line, cells])).toEqual([
      [1, ['id', 'note']],
      [2, ['1', 'x\ny']],
    ]);
  });
});
