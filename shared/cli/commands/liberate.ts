import type { Type } from 'avsc';
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Message } from 'kafkajs';
import { orderedProducer, sendChunked } from '../../kafka';
import { PROJECT_ROOT } from '../../local/paths';
import { loadSchemaCatalog, undeclaredFields, valueSubject } from '../../schemas';
import { newRootContext, traceHeaders } from '../../tracing';
import { CliError, UsageError, type CliContext } from '../context';

interface Checkpoint {
  readonly file: string;
  readonly topic: string;
  readonly keyField: string;
  readonly subject: string;
  readonly completed: boolean;
  readonly size: number;
  readonly modifiedMs: number;
  readonly linesDone: number;
  readonly produced: number;
  readonly rejected: number;
}

const CHUNK_ROWS = 1_000;

/**
 * `liberate <topic> --file <snapshot.ndjson|.csv> --key-field <field>`:
 * bootstraps an entity topic from a snapshot, the job a connector does. Rows
 * are checked against the topic's schema (CSV cells converted to the schema's
 * types); valid ones are published as full-state facts keyed by the key field,
 * rejected ones are listed with their reasons and the run goes on. A
 * checkpoint after every acknowledged chunk lets a stopped run resume where it
 * was (facts are idempotent, so a chunk sent twice after a crash is harmless).
 * Each row starts a W3C trace of its own (`traceparent`).
 */
export async function liberateCommand(
  context: CliContext,
  topic: string,
  file: string | undefined,
  keyField: string | undefined,
  subjectOption: string | undefined,
  restart = false,
): Promise<void> {
  if (!file || !keyField) throw new UsageError('liberate needs --file <snapshot.ndjson|.csv> and --key-field <field>');
  const declared = context.pipeline.topics.find((candidate) => candidate.name === topic);
  if (!declared) throw new CliError(`topic "${topic}" is not declared in pipeline "${context.pipeline.name}"`);
  if (subjectOption !== undefined && declared.valueSchema !== undefined && subjectOption !== declared.valueSchema) {
    throw new CliError(`topic "${topic}" declares value schema "${declared.valueSchema}"; --schema ${subjectOption} would write values its consumers cannot read`);
  }
  const subject = subjectOption ?? declared.valueSchema ?? valueSubject(topic);
  const format = context.formatOf(topic);
  if (declared.kind !== 'entity') throw new CliError(`topic "${topic}" is a ${declared.kind} topic; liberate fills entity topics`);
  if (!existsSync(file)) throw new CliError(`no such file: ${file}`);
  const schemas = loadSchemaCatalog(join(PROJECT_ROOT, 'schemas'));
  if (subjectOption !== undefined && !schemas.has(subject)) throw new CliError(`no schema "${subject}" in schemas/`);
  const schema = schemas.get(subject)?.latest.type;
  const csv = file.toLowerCase().endsWith('.csv');

  const checkpointPath = `${file}.liberate-checkpoint.json`;
  const { size, mtimeMs } = statSync(file);
  let checkpoint: Checkpoint = { file, topic, keyField, subject, completed: false, size, modifiedMs: mtimeMs, linesDone: 0, produced: 0, rejected: 0 };
  if (existsSync(checkpointPath) && !restart) {
    const saved = JSON.parse(readFileSync(checkpointPath, 'utf8')) as Checkpoint;
    const same = saved.topic === topic && saved.keyField === keyField && saved.subject === subject && saved.size === size && saved.modifiedMs === mtimeMs;
    if (same && saved.completed) {
      context.print({ topic, file, alreadyComplete: true, produced: saved.produced, rejected: saved.rejected }, () =>
        `${file} was already liberated into ${topic} (${saved.produced} produced, ${saved.rejected} rejected); --restart sends it again`,
      );
      return;
    }
    if (same) checkpoint = saved;
  }
  const resumedAt = checkpoint.linesDone;

  const producer = orderedProducer(await context.kafka());
  await producer.connect();
  const rejects: Array<{ line: number; problems: string[] }> = [];
  const ignoredFields = new Set<string>();
  let header: string[] | undefined;
  let lineNumber = 0;
  let pending: Message[] = [];
  const flush = async () => {
    await sendChunked(producer, topic, pending);
    checkpoint = { ...checkpoint, linesDone: lineNumber, produced: checkpoint.produced + pending.length };
    writeFileSync(checkpointPath, JSON.stringify(checkpoint));
    pending = [];
    process.stderr.write(`… ${lineNumber} lines read, ${checkpoint.produced} produced, ${checkpoint.rejected} rejected\n`);
  };
  try {
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      lineNumber += 1;
      const raw = lineNumber === 1 ? line.replace(/^\uFEFF/, '') : line; // a byte-order mark is not part of the first cell
      if (csv && header === undefined) {
        header = parseCsvLine(raw);
        continue;
      }
      if (lineNumber <= resumedAt || raw.trim() === '') continue;
      const problems: string[] = [];
      const row = csv ? fromCsv(header!, parseCsvLine(raw), schema) : fromJson(raw, problems);
      const key = row?.[keyField];
      if (row && (typeof key !== 'string' || key === '')) problems.push(`key field "${keyField}" must be a non-empty string`);
      // A snapshot often has more columns than the entity: they are left out, and named in the summary.
      if (row && schema) for (const field of undeclaredFields(schema, row)) ignoredFields.add(field);
      if (row && schema) schema.isValid(row, { errorHook: (path, value) => problems.push(`${path.join('.') || '(row)'}: ${JSON.stringify(value) ?? 'missing'} does not match the schema`) });
      if (problems.length > 0 || !row) {
        rejects.push({ line: lineNumber, problems });
        checkpoint = { ...checkpoint, rejected: checkpoint.rejected + 1 };
        continue;
      }
      // In the topic's wire format (Avro with its schema id when the topic declares a schema).
      // One trace per row: each fact starts the journey of its entity's change.
      pending.push({ key: key as string, value: await format.encode(row), headers: traceHeaders(newRootContext()) });
      if (pending.length >= CHUNK_ROWS) await flush();
    }
    await flush();
    checkpoint = { ...checkpoint, completed: true };
    writeFileSync(checkpointPath, JSON.stringify(checkpoint));
  } finally {
    await producer.disconnect();
  }
  const summary = {
    topic,
    file,
    linesRead: lineNumber - (csv ? 1 : 0),
    resumedAfterLine: resumedAt,
    produced: checkpoint.produced,
    rejected: checkpoint.rejected,
    rejectedRows: rejects,
    ignoredFields: [...ignoredFields].sort(),
  };
  context.print(summary, () =>
    [
      `liberated ${file} into ${topic}: ${summary.linesRead} line(s) read${resumedAt > 0 ? ` (resumed after line ${resumedAt})` : ''}, ${summary.produced} produced, ${summary.rejected} rejected`,
      ...(summary.ignoredFields.length > 0 ? [`  fields not in the schema, left out: ${summary.ignoredFields.join(', ')}`] : []),
      ...rejects.slice(0, 20).map((reject) => `  line ${reject.line}: ${reject.problems.join('; ')}`),
      ...(rejects.length > 20 ? [`  … and ${rejects.length - 20} more (use --json for all)`] : []),
    ].join('\n'),
  );
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

/** A CSV row as an object, cells converted to the types the schema gives their fields. */
function fromCsv(header: readonly string[], cells: readonly string[], schema: Type | undefined): Record<string, unknown> {
  const fields = new Map(((schema?.schema() as { fields?: Array<{ name: string; type: unknown }> } | undefined)?.fields ?? []).map((field) => [field.name, field.type]));
  return Object.fromEntries(header.map((name, index) => [name, convert(cells[index] ?? '', fields.get(name))]));
}

function convert(cell: string, type: unknown): unknown {
  const types = Array.isArray(type) ? type : [type];
  if (cell === '' && types.includes('null')) return null;
  const base = types.map((candidate) => (typeof candidate === 'object' && candidate !== null ? (candidate as { type: string }).type : candidate)).find((candidate) => candidate !== 'null');
  if ((base === 'long' || base === 'int' || base === 'double' || base === 'float') && cell.trim() !== '' && !Number.isNaN(Number(cell))) return Number(cell);
  if (base === 'boolean' && (cell === 'true' || cell === 'false')) return cell === 'true';
  return cell;
}

/** One CSV line (RFC 4180 quoting: "a ""quoted"", cell"). */
export function parseCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let index = 0; index < line.length; index += 1) {
    const char = line[index]!;
    if (quoted) {
      if (char === '"' && line[index + 1] === '"') {
        cell += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      cells.push(cell);
      cell = '';
    } else cell += char;
  }
  cells.push(cell);
  return cells;
}
