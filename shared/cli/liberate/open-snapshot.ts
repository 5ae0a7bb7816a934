import type { Type } from 'avsc';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { CliError } from '../errors';
import { readCsvRows } from './csv-parser';

/** A row of a snapshot: the object it holds, or why it holds none. */
export interface SnapshotRow {
  /** The physical line it starts on. */
  readonly line: number;
  /** The physical line it ends on (later than `line` for a CSV cell holding line breaks). */
  readonly endLine: number;
  readonly value: Record<string, unknown> | undefined;
  readonly problems: readonly string[];
}

/** A snapshot opened for reading: its columns (CSV), its rows, and how many bytes are read so far. */
export interface Snapshot {
  /** The CSV header's column names; undefined for NDJSON. */
  readonly columns: readonly string[] | undefined;
  /** The last line of the CSV header (0 for NDJSON): the lines after it hold the rows. */
  readonly headerEndLine: number;
  readonly rows: AsyncIterable<SnapshotRow>;
  bytesRead(): number;
  close(): void;
}

/**
 * Opens a snapshot, NDJSON or CSV, streaming it. For CSV it reads the header
 * first (so the caller can check the columns before any row is read), then
 * every row must have exactly the header's number of cells, its cells
 * converted to the types the schema gives their fields.
 *
 * @throws CliError when a CSV file has no header, or one that names no clear columns
 */
export async function openSnapshot(file: string, csv: boolean, schema: Type | undefined): Promise<Snapshot> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  const base = { bytesRead: () => stream.bytesRead, close: () => stream.destroy() };
  if (!csv) return { ...base, columns: undefined, headerEndLine: 0, rows: ndjsonRows(stream) };
  const rows = readCsvRows(stream)[Symbol.asyncIterator]();
  const first = await rows.next();
  if (first.done) {
    stream.destroy();
    throw new CliError(`${file} has no header row`);
  }
  const header = first.value;
  const repeated = header.cells.find((name, index) => header.cells.indexOf(name) !== index);
  const problem =
    header.problem ??
    (header.cells.some((name) => name.trim() === '')
      ? 'a column without a name'
      : repeated !== undefined
        ? `column "${repeated}" appears twice`
        : undefined);
  if (problem !== undefined) {
    stream.destroy();
    throw new CliError(`${file}: the header (line ${header.line}) cannot be read: ${problem}`);
  }
  const columns = header.cells;
  const types = fieldTypes(schema);
  async function* csvRows(): AsyncGenerator<SnapshotRow> {
    for (let next = await rows.next(); !next.done; next = await rows.next()) {
      const { line, endLine, cells, problem: malformed } = next.value;
      if (malformed !== undefined) yield { line, endLine, value: undefined, problems: [malformed] };
      else if (cells.length !== columns.length) {
        const kind = cells.length < columns.length ? 'short' : 'long';
        yield {
          line,
          endLine,
          value: undefined,
          problems: [`${cells.length} cell(s) where the header has ${columns.length} column(s) (a ${kind} row)`],
        };
      } else
        yield {
          line,
          endLine,
          value: Object.fromEntries(columns.map((name, index) => [name, convert(cells[index]!, types.get(name))])),
          problems: [],
        };
    }
  }
  return { ...base, columns, headerEndLine: header.endLine, rows: csvRows() };
}

async function* ndjsonRows(stream: NodeJS.ReadableStream): AsyncGenerator<SnapshotRow> {
  let line = 0;
  for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
    line += 1;
    const raw = line === 1 ? text.replace(/^\uFEFF/, '') : text; // a byte-order mark is not part of the first value
    if (raw.trim() === '') continue;
    const problems: string[] = [];
    const value = fromJson(raw, problems);
    yield { line, endLine: line, value, problems };
  }
}

function fromJson(raw: string, problems: string[]): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(raw) as unknown;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    problems.push('not a JSON object');
  } catch (error) {
    problems.push(`not JSON (${(error as Error).message})`);
  }
  return undefined;
}

/** The schema's record fields and their types, by name (none without a schema). */
export function fieldTypes(schema: Type | undefined): Map<string, unknown> {
  const fields = (schema?.schema() as { fields?: Array<{ name: string; type: unknown }> } | undefined)?.fields ?? [];
  return new Map(fields.map((field) => [field.name, field.type]));
}

/** A cell as the type of its field: numbers and booleans from their text, an empty cell as null where null is allowed. */
export function convert(cell: string, type: unknown): unknown {
  const types = Array.isArray(type) ? type : [type];
  if (cell === '' && types.includes('null')) return null;
  const base = types
    .map((candidate) => (typeof candidate === 'object' && candidate !== null ? (candidate as { type: string }).type : candidate))
    .find((candidate) => candidate !== 'null');
  if ((base === 'long' || base === 'int' || base === 'double' || base === 'float') && cell.trim() !== '' && !Number.isNaN(Number(cell)))
    return Number(cell);
  if (base === 'boolean' && (cell === 'true' || cell === 'false')) return cell === 'true';
  return cell;
}
