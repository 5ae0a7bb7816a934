/**
 * A CSV reader for snapshots (RFC 4180): cells separated by commas, rows by
 * LF or CRLF; a cell in double quotes may hold commas, line breaks and doubled
 * quotes (`"say ""hi"""`). A byte-order mark before the first cell is dropped,
 * empty lines are skipped. It reads chunk by chunk, so a snapshot is never held
 * in memory whole, and numbers each row by the physical line it starts on.
 *
 * Lenient where the meaning is plain (a quote inside an unquoted cell is kept
 * as it is, a lone CR too), strict where it is not: text after a closing quote
 * and a quote never closed make the row malformed, with the reason.
 */

/** One row as the file holds it: its cells, or why it cannot be read. */
export interface CsvRow {
  /** The physical line the row starts on (1-based; the header is line 1 in most files). */
  readonly line: number;
  /** The physical line it ends on: later than `line` when a quoted cell holds line breaks. */
  readonly endLine: number;
  readonly cells: readonly string[];
  /** Why the row is malformed; its cells are then only what could be read. */
  readonly problem: string | undefined;
}

/**
 * Where the parser is: at the start of a cell, in a cell without quotes, in a
 * quoted cell, or just after a quote inside one (a doubled quote, or the cell's end).
 */
type State = 'cell-start' | 'unquoted' | 'quoted' | 'quote-in-quoted';

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;
const BOM = 0xfeff;

/**
 * The parser itself, fed text chunk by chunk (split anywhere, even between a
 * CR and its LF, or inside a quoted cell); {@link readCsvRows} drives it from a stream.
 *
 * @example
 * const parser = new CsvParser();
 * const rows = [...parser.push('id,name\r\n1,"A, B"\r\n'), ...parser.end()];
 * // rows[1] → { line: 2, endLine: 2, cells: ['1', 'A, B'], problem: undefined }
 */
export class CsvParser {
  private state: State = 'cell-start';
  private cell = '';
  private cells: string[] = [];
  /** The physical line being read (counted by LF). */
  private line = 1;
  private rowLine = 1;
  /** Whether the row has any content yet: an empty line is no row. */
  private rowStarted = false;
  /** A CR was the last character of the previous chunk, outside quotes: a line ending if an LF follows. */
  private pendingCr = false;
  private atStart = true;
  private quoteOpenedOn = 1;
  private problem: string | undefined;

  /** Reads a chunk of text, returning the rows it completes. */
  push(text: string): CsvRow[] {
    const rows: CsvRow[] = [];
    let index = 0;
    if (this.atStart && text.length > 0) {
      this.atStart = false;
      if (text.charCodeAt(0) === BOM) index = 1;
    }
    for (; index < text.length; index += 1) {
      const code = text.charCodeAt(index);
      if (this.pendingCr) {
        this.pendingCr = false;
        if (code === LF) {
          this.endRow(rows);
          continue;
        }
        // A lone CR outside quotes is kept as text.
        if (this.state === 'quote-in-quoted') this.problem ??= `text after the closing quote of cell ${this.cells.length + 1}`;
        this.append('\r');
      }
      switch (this.state) {
        case 'quoted':
          if (code === QUOTE) this.state = 'quote-in-quoted';
          else {
            if (code === LF) this.line += 1;
            // Take the run of ordinary characters at once rather than one by one.
            const end = nextSpecial(text, index + 1, true);
            this.cell += text.slice(index, end);
            index = end - 1;
          }
          break;
        case 'quote-in-quoted':
          if (code === QUOTE) {
            this.cell += '"';
            this.state = 'quoted';
          } else if (code === COMMA) this.endCell();
          else if (code === LF) this.endRow(rows);
          else if (code === CR) this.pendingCr = true;
          else {
            this.problem ??= `text after the closing quote of cell ${this.cells.length + 1}`;
            this.cell += text[index];
            this.state = 'unquoted';
          }
          break;
        case 'cell-start':
        case 'unquoted':
          if (code === QUOTE && this.state === 'cell-start') {
            this.rowStarted = true;
            this.quoteOpenedOn = this.line;
            this.state = 'quoted';
          } else if (code === COMMA) this.endCell();
          else if (code === LF) this.endRow(rows);
          else if (code === CR) this.pendingCr = true;
          else {
            const end = nextSpecial(text, index + 1, false);
            this.append(text.slice(index, end));
            index = end - 1;
          }
          break;
      }
    }
    return rows;
  }

  /** Ends the input, returning the last row if the file does not end with a line break. */
  end(): CsvRow[] {
    const rows: CsvRow[] = [];
    if (this.state === 'quoted') {
      this.problem = `the quoted cell ${this.cells.length + 1} opened on line ${this.quoteOpenedOn} is never closed`;
      // The file's last line break, swallowed by the open cell, ends the last line rather than starting one.
      if (this.cell.endsWith('\n')) this.line -= 1;
    }
    // A CR at the very end is the last line's ending.
    this.pendingCr = false;
    this.endRow(rows, false);
    return rows;
  }

  private append(text: string): void {
    this.cell += text;
    this.rowStarted = true;
    this.state = 'unquoted';
  }

  private endCell(): void {
    this.cells.push(this.cell);
    this.cell = '';
    this.rowStarted = true;
    this.state = 'cell-start';
  }

  private endRow(rows: CsvRow[], lineBreak = true): void {
    if (this.rowStarted) {
      this.cells.push(this.cell);
      rows.push({ line: this.rowLine, endLine: this.line, cells: this.cells, problem: this.problem });
    }
    this.cells = [];
    this.cell = '';
    this.problem = undefined;
    this.rowStarted = false;
    this.state = 'cell-start';
    if (lineBreak) this.line += 1;
    this.rowLine = this.line;
  }
}

/** The index of the next character that ends a run of plain text (in a quoted cell: a quote or LF). */
function nextSpecial(text: string, from: number, quoted: boolean): number {
  for (let index = from; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (quoted ? code === QUOTE || code === LF : code === COMMA || code === LF || code === CR) return index;
  }
  return text.length;
}

/**
 * The rows of a CSV stream, one at a time. Give it text (a stream with
 * `setEncoding('utf8')`, so that a character split between chunks stays whole).
 */
export async function* readCsvRows(input: AsyncIterable<string>): AsyncGenerator<CsvRow> {
  const parser = new CsvParser();
  for await (const chunk of input) yield* parser.push(chunk);
  yield* parser.end();
}
