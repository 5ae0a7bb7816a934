import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from 'kafkajs';
import { orderedProducer, sendChunked } from '../../kafka';
import { PROJECT_ROOT } from '../../local/paths';
import { loadSchemaCatalog, undeclaredFields, valueSubject, writeValue, type SubjectSchemas } from '../../schemas';
import { CliError, type CliContext } from '../context';

/** One line of input to `produce`: `{"key": "...", "value": {...} | null, "headers"?: {...}}`. */
interface InputLine {
  readonly key: string | null;
  readonly value: unknown;
  readonly headers?: Record<string, string>;
}

/**
 * `produce <topic> [--file F] [--schema <subject>]`: publishes NDJSON lines (`{key, value, headers?}`;
 * a null value is a tombstone) from a file or stdin, in the topic's wire
 * format. Every line is checked first, against the schema the topic declares
 * (or `--schema`): one bad line refuses the whole input, naming each problem,
 * and nothing is sent.
 */
export async function produceCommand(context: CliContext, topic: string, file: string | undefined, subjectOption?: string): Promise<void> {
  const declared = context.pipeline.topics.find((candidate) => candidate.name === topic);
  if (!declared) throw new CliError(`topic "${topic}" is not declared in pipeline "${context.pipeline.name}"`);
  if (subjectOption !== undefined && declared.valueSchema !== undefined && subjectOption !== declared.valueSchema) {
    throw new CliError(`topic "${topic}" declares value schema "${declared.valueSchema}"; --schema ${subjectOption} would write values its consumers cannot read`);
  }
  const subject = subjectOption ?? declared.valueSchema ?? valueSubject(topic);
  const text = file ? readFileSync(file, 'utf8') : readFileSync(0, 'utf8');
  const schemas = loadSchemaCatalog(join(PROJECT_ROOT, 'schemas'));
  if (subjectOption !== undefined && !schemas.has(subject)) throw new CliError(`no schema "${subject}" in schemas/`);
  const schema = schemas.get(subject);
  const problems: string[] = [];
  const lines: InputLine[] = [];
  text.replace(/^\uFEFF/, '').split('\n').forEach((raw, index) => {
    if (raw.trim() === '') return;
    const line = parseLine(raw, index + 1, problems);
    if (!line) return;
    problems.push(...valueProblems(line, schema).map((problem) => `line ${index + 1}: ${problem}`));
    lines.push(line);
  });
  if (problems.length > 0) throw new CliError(`nothing produced to "${topic}":\n  ${problems.join('\n  ')}`);
  // Every line is valid: each goes out in the topic's wire format (Avro with its schema id when it declares one).
  const format = context.formatOf(topic);
  const messages: Message[] = await Promise.all(
    lines.map(async (line) => ({ key: line.key, value: await writeValue(format, line.value), ...(line.headers ? { headers: line.headers } : {}) })),
  );
  const producer = orderedProducer(await context.kafka());
  await producer.connect();
  try {
    await sendChunked(producer, topic, messages);
  } finally {
    await producer.disconnect();
  }
  context.print({ topic, produced: messages.length }, () => `produced ${messages.length} record(s) to ${topic}`);
}

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
  return line as InputLine;
}

function valueProblems(line: InputLine, schema: SubjectSchemas | undefined): string[] {
  if (line.value === null || !schema) return [];
  const problems: string[] = [];
  // Strict: a field the schema does not declare (a misspelt one, say) refuses the line instead of being dropped.
  problems.push(...undeclaredFields(schema.latest.type, line.value).map((field) => `${field}: not a field of schema ${schema.subject} v${schema.latest.version}`));
  schema.latest.type.isValid(line.value, { errorHook: (path, value) => problems.push(`${path.join('.') || '(value)'}: ${JSON.stringify(value) ?? 'undefined'} does not match schema ${schema.subject} v${schema.latest.version}`) });
  return problems;
}
