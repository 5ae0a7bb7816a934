import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from 'kafkajs';
import { orderedProducer, sendChunked } from '../../kafka';
import { PROJECT_ROOT } from '../../local/paths';
import { loadSubjectSchemas, undeclaredFields, valueSubject, writeValue, type SubjectSchemas } from '../../schemas';
import { TRACE_HEADERS } from '../../tracing';
import { CliError, UsageError, type CliContext } from '../context';
import { producedTraceHeaders, traceparentFlag } from '../operations/record-trace';

/** One line of input to `produce`: `{"key": "...", "value": {...} | null, "headers"?: {...}}`. */
interface InputLine {
  readonly key: string | null;
  readonly value: unknown;
  readonly headers?: Record<string, string>;
}

/**
 * `produce <topic> [--file F] [--schema <subject>] [--traceparent <W3C traceparent>]`: publishes NDJSON lines (`{key, value, headers?}`;
 * a null value is a tombstone) from a file or stdin, in the topic's wire
 * format. Every line is checked first, against the schema the topic declares
 * (or `--schema`): one bad line refuses the whole input, naming each problem,
 * and nothing is sent.
 *
 * Every record is in a W3C trace: with `--traceparent`, all of them in that
 * one (each a child span of it); otherwise a line's own valid `traceparent`
 * header, or a new trace per line. The trace ids are printed (on stderr, or
 * in the JSON result as `traceIds`, one per record in input order).
 */
export async function produceCommand(
  context: CliContext,
  topic: string,
  file: string | undefined,
  subjectOption?: string,
  traceparent?: string,
): Promise<void> {
  // Checked before anything is read or sent: a mistyped trace is a usage error, not records in a trace nobody finds.
  const parent = traceparentFlag(traceparent);
  const declared = context.pipeline.topics.find((candidate) => candidate.name === topic);
  if (!declared) throw new UsageError(`topic "${topic}" is not declared in pipeline "${context.pipeline.name}"`);
  if (subjectOption !== undefined && declared.valueSchema !== undefined && subjectOption !== declared.valueSchema) {
    throw new CliError(
      `topic "${topic}" declares value schema "${declared.valueSchema}"; --schema ${subjectOption} would write values its consumers cannot read`,
    );
  }
  const subject = subjectOption ?? declared.valueSchema ?? valueSubject(topic);
  const text = file ? readFileSync(file, 'utf8') : readFileSync(0, 'utf8');
  const schemas = loadSubjectSchemas(join(PROJECT_ROOT, 'schemas'));
  if (subjectOption !== undefined && !schemas.has(subject)) throw new CliError(`no schema "${subject}" in schemas/`);
  const schema = schemas.get(subject);
  // On an entity topic the key is the entity's id: a line whose key disagrees with it would file the fact under another entity.
  const idField = declared.kind === 'entity' && schema ? entityIdField(schema.latest.schema) : undefined;
  const problems: string[] = [];
  const lines: Array<InputLine & { readonly number: number }> = [];
  text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .forEach((raw, index) => {
      if (raw.trim() === '') return;
      const line = parseLine(raw, index + 1, problems);
      if (!line) return;
      problems.push(...valueProblems(line, schema).map((problem) => `line ${index + 1}: ${problem}`));
      const idProblem = idField && keyProblem(line, idField);
      if (idProblem) problems.push(`line ${index + 1}: ${idProblem}`);
      if (parent && line.headers?.[TRACE_HEADERS.traceparent] !== undefined) {
        problems.push(
          `line ${index + 1}: has a traceparent header of its own, and --traceparent puts every line into one trace: drop one of them`,
        );
      }
      lines.push({ ...line, number: index + 1 });
    });
  if (problems.length > 0) throw new CliError(`nothing produced to "${topic}":\n  ${problems.join('\n  ')}`);
  // Every line is valid: each goes out in the topic's wire format (Avro with its schema id when it declares one).
  const format = context.formatOf(topic);
  const traced = lines.map((line) => producedTraceHeaders(line.headers, parent));
  const messages: Message[] = await Promise.all(
    lines.map(async (line, index) => ({ key: line.key, value: await writeValue(format, line.value), headers: traced[index]!.headers })),
  );
  const producer = orderedProducer(await context.kafka());
  await producer.connect();
  try {
    await sendChunked(producer, topic, messages);
  } finally {
    await producer.disconnect();
  }
  const traceIds = traced.map((line) => line.traceId);
  if (!context.json) process.stderr.write(traceSummary(lines, traceIds, parent?.traceId));
  context.print({ topic, produced: messages.length, traceIds }, () => `produced ${messages.length} record(s) to ${topic}`);
}

/** Which trace each record went out in, for stderr: one line for --traceparent, else one per record (the first 20). */
function traceSummary(
  lines: ReadonlyArray<{ readonly number: number; readonly key: string | null }>,
  traceIds: readonly string[],
  parentTraceId: string | undefined,
): string {
  if (traceIds.length === 0) return '';
  if (parentTraceId !== undefined) return `trace ${parentTraceId}: all ${traceIds.length} record(s), each a child of --traceparent\n`;
  const shown = lines
    .slice(0, TRACES_SHOWN)
    .map((line, index) => `  line ${line.number} key=${line.key ?? '(none)'} trace=${traceIds[index]}`);
  const more = lines.length > TRACES_SHOWN ? [`  … and ${lines.length - TRACES_SHOWN} more (use --json for all)`] : [];
  return [`traces of the ${traceIds.length} record(s):`, ...shown, ...more, ''].join('\n');
}

const TRACES_SHOWN = 20;

function parseLine(raw: string, number: number, problems: string[]): InputLine | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    problems.push(`line ${number}: not JSON (${(error as Error).message})`);
    return undefined;
  }
  const line = parsed as Partial<InputLine>;
  if (parsed === null || typeof parsed !== 'object' || !('value' in line)) {
    problems.push(`line ${number}: expected {"key": ..., "value": ...}`);
    return undefined;
  }
  if (line.key !== null && typeof line.key !== 'string') problems.push(`line ${number}: key must be a string or null`);
  const headers: unknown = line.headers;
  if (
    headers !== undefined &&
    (headers === null ||
      typeof headers !== 'object' ||
      Array.isArray(headers) ||
      !Object.values(headers).every((value) => typeof value === 'string'))
  ) {
    problems.push(`line ${number}: headers must be an object of strings, {"name": "value"}`);
  }
  return line as InputLine;
}

function valueProblems(line: InputLine, schema: SubjectSchemas | undefined): string[] {
  if (line.value === null || !schema) return [];
  const problems: string[] = [];
  // Strict: a field the schema does not declare (a misspelt one, say) refuses the line instead of being dropped.
  problems.push(
    ...undeclaredFields(schema.latest.type, line.value).map(
      (field) => `${field}: not a field of schema ${schema.subject} v${schema.latest.version}`,
    ),
  );
  schema.latest.type.isValid(line.value, {
    errorHook: (path, value) =>
      problems.push(
        `${path.join('.') || '(value)'}: ${JSON.stringify(value) ?? 'undefined'} does not match schema ${schema.subject} v${schema.latest.version}`,
      ),
  });
  return problems;
}

/**
 * Where an entity's id is in its values: the field the schema's record names
 * in its doc ("keyed by merchantId"), at the top level or in a record field
 * one level down (items-with-flyer: `item.itemId`). Undefined when the schema
 * names none, or names one its values do not have.
 */
export function entityIdField(schema: unknown): readonly string[] | undefined {
  const record = schema as { doc?: unknown; fields?: ReadonlyArray<{ name: string; type: unknown }> };
  const name = typeof record?.doc === 'string' ? /keyed by (\w+)/.exec(record.doc)?.[1] : undefined;
  if (!name || !Array.isArray(record.fields)) return undefined;
  if (record.fields.some((field) => field.name === name)) return [name];
  for (const field of record.fields) {
    const nested = field.type as { type?: unknown; fields?: ReadonlyArray<{ name: string }> };
    if (nested?.type === 'record' && Array.isArray(nested.fields) && nested.fields.some((inner) => inner.name === name))
      return [field.name, name];
  }
  return undefined;
}

/** A line whose key is not its value's entity id; tombstones (no value) have nothing to compare. */
function keyProblem(line: InputLine, path: readonly string[]): string | undefined {
  if (line.value === null || typeof line.value !== 'object') return undefined;
  let id: unknown = line.value;
  for (const step of path) id = id !== null && typeof id === 'object' ? (id as Record<string, unknown>)[step] : undefined;
  if (typeof id !== 'string' || id === line.key) return undefined;
  return `key ${JSON.stringify(line.key)} is not the entity's id (${path.join('.')} is ${JSON.stringify(id)}): the key of an entity's fact is its id`;
}
