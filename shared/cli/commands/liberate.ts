import type { Type } from 'avsc';
import type { Message } from 'kafkajs';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { orderedProducer, sendChunked } from '../../kafka';
import { PROJECT_ROOT } from '../../local/paths';
import { loadSubjectSchemas, undeclaredFields, valueSubject, type ValueFormat } from '../../schemas';
import { newRootContext, traceHeaders } from '../../tracing';
import { CliError, UsageError, type CliContext } from '../context';
import {
  CHECKPOINT_VERSION,
  checkpointPathOf,
  checkpointVerdict,
  endOffsetsByPartition,
  fieldTypes,
  LiberationProgress,
  openSnapshot,
  readCheckpoint,
  writeCheckpoint,
  writersOf,
  type Checkpoint,
  type Snapshot,
} from '../liberate';

const CHUNK_ROWS = 1_000;
/** How often the progress line is offered an update (it shows one at most once a second). */
const PROGRESS_EVERY_ROWS = 100;

/**
 * `liberate <topic> --file <snapshot.ndjson|.csv> --key-field <field>`:
 * bootstraps an entity topic from a snapshot, the job a connector does. Rows
 * are checked against the topic's schema (CSV cells converted to the schema's
 * types, every row exactly as many cells as the header has columns); valid ones
 * are published as full-state facts keyed by the key field, rejected ones are
 * listed with their line and reasons and the run goes on. A checkpoint after
 * every acknowledged chunk lets a stopped run resume where it was (facts are
 * idempotent, so a chunk sent twice after a crash is harmless); it is trusted
 * only on the cluster it was written against and while the topic still holds
 * what it recorded, so a fresh cluster or a recreated topic gets the data.
 * Each row starts a W3C trace of its own (`traceparent`).
 *
 * Refused before anything is read or sent (usage errors, exit 2): a topic the
 * pipeline derives (a join's output, a hot stream's deltas, dead letters) and a
 * key field the file or the schema does not have.
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
  const writers = writersOf(context.pipeline, topic);
  if (writers.length > 0) {
    throw new UsageError(
      `topic "${topic}" is ${writers.join(', ')}: liberate feeds the entity topics the monolith owns, never one the pipeline derives; nothing was produced`,
    );
  }
  if (declared.kind !== 'entity') throw new UsageError(`topic "${topic}" is a ${declared.kind} topic; liberate fills entity topics`);
  if (subjectOption !== undefined && declared.valueSchema !== undefined && subjectOption !== declared.valueSchema) {
    throw new CliError(
      `topic "${topic}" declares value schema "${declared.valueSchema}"; --schema ${subjectOption} would write values its consumers cannot read`,
    );
  }
  const subject = subjectOption ?? declared.valueSchema ?? valueSubject(topic);
  const format = context.formatOf(topic);
  if (!existsSync(file)) throw new CliError(`no such file: ${file}`);
  const schemas = loadSubjectSchemas(join(PROJECT_ROOT, 'schemas'));
  if (subjectOption !== undefined && !schemas.has(subject)) throw new CliError(`no schema "${subject}" in schemas/`);
  const schema = schemas.get(subject)?.latest.type;
  const fields = fieldTypes(schema);
  // Every row would be rejected: say so once, before reading any.
  if (schema && !fields.has(keyField)) {
    throw new UsageError(
      `--key-field "${keyField}" is not a field of schema ${subject} (its fields: ${[...fields.keys()].join(', ')}); nothing was produced`,
    );
  }
  const csv = file.toLowerCase().endsWith('.csv');
  const snapshot = await openSnapshot(file, csv, schema);
  try {
    if (snapshot.columns && !snapshot.columns.includes(keyField)) {
      throw new UsageError(
        `--key-field "${keyField}" is not a column of ${file} (its columns: ${snapshot.columns.join(', ')}); nothing was produced`,
      );
    }
    const { size, mtimeMs } = statSync(file);
    const checkpointPath = checkpointPathOf(file);
    const kafka = await context.kafka();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { clusterId } = await admin.describeCluster();
      if (!(await admin.listTopics()).includes(topic))
        throw new CliError(
          `topic "${topic}" does not exist on cluster ${clusterId}: create the pipeline's topics first (npm start, or a deployment, does); nothing was produced`,
        );
      const endOffsets = async () => endOffsetsByPartition(await admin.fetchTopicOffsets(topic));
      const scope = { size, modifiedMs: mtimeMs, clusterId, topic, keyField, subject, endOffsets: await endOffsets() };
      const saved = restart ? undefined : readCheckpoint(checkpointPath);
      const verdict = saved === undefined ? undefined : checkpointVerdict(saved, scope);
      if (verdict?.applies === true && verdict.checkpoint.completed) {
        const done = verdict.checkpoint;
        context.print(
          { topic, file, clusterId, alreadyComplete: true, produced: done.produced, rejected: done.rejected },
          () =>
            `${file} was already liberated into ${topic} on cluster ${clusterId} (${done.produced} produced, ${done.rejected} rejected; the topic still holds them); --restart sends it again`,
        );
        return;
      }
      const startedOverBecause =
        verdict?.applies === false ? `the checkpoint ${checkpointPath} does not apply: ${verdict.reason}` : undefined;
      if (startedOverBecause !== undefined) process.stderr.write(`liberate: starting over, as ${startedOverBecause}\n`);
      const checkpoint: Checkpoint =
        verdict?.applies === true
          ? verdict.checkpoint
          : {
              version: CHECKPOINT_VERSION,
              file: resolve(file),
              size,
              modifiedMs: mtimeMs,
              clusterId,
              topic,
              keyField,
              subject,
              endOffsets: scope.endOffsets,
              linesDone: 0,
              produced: 0,
              rejected: 0,
              completed: false,
            };
      const { done, ...summary } = await produceRows(context, {
        topic,
        keyField,
        snapshot,
        format,
        schema,
        checkpoint,
        checkpointPath,
        endOffsets,
        totalBytes: size,
      });
      const result = {
        topic,
        file,
        clusterId,
        ...summary,
        produced: done.produced,
        rejected: done.rejected,
        ...(startedOverBecause === undefined ? {} : { startedOverBecause }),
      };
      context.print(result, () =>
        [
          `liberated ${file} into ${topic}: ${result.linesRead} line(s), ${result.rowsRead} row(s) read${result.resumedAfterLine > 0 ? ` (resumed after line ${result.resumedAfterLine})` : ''}, ${result.produced} produced, ${result.rejected} rejected`,
          ...(startedOverBecause === undefined ? [] : [`  started over: ${startedOverBecause}`]),
          ...(result.ignoredFields.length > 0 ? [`  fields not in the schema, left out: ${result.ignoredFields.join(', ')}`] : []),
          ...result.rejectedRows.slice(0, 20).map((reject) => `  line ${reject.line}: ${reject.problems.join('; ')}`),
          ...(result.rejectedRows.length > 20 ? [`  … and ${result.rejectedRows.length - 20} more (use --json for all)`] : []),
        ].join('\n'),
      );
    } finally {
      await admin.disconnect();
    }
  } finally {
    snapshot.close();
  }
}

interface Liberation {
  readonly topic: string;
  readonly keyField: string;
  readonly snapshot: Snapshot;
  readonly format: ValueFormat;
  readonly schema: Type | undefined;
  /** Where to start: a fresh one, or the one a stopped run left. */
  readonly checkpoint: Checkpoint;
  readonly checkpointPath: string;
  endOffsets(): Promise<Record<string, string>>;
  readonly totalBytes: number;
}

/** Reads the rows, produces the good ones chunk by chunk with a checkpoint after each, and says what it did. */
async function produceRows(context: CliContext, liberation: Liberation) {
  const { topic, keyField, snapshot, format, schema, checkpointPath } = liberation;
  let checkpoint = liberation.checkpoint;
  const resumedAt = checkpoint.linesDone;
  const progress = new LiberationProgress({
    totalBytes: liberation.totalBytes,
    interactive: process.stderr.isTTY === true,
    write: (text) => process.stderr.write(text),
  });
  const rejects: Array<{ line: number; problems: readonly string[] }> = [];
  const ignoredFields = new Set<string>();
  let rows = 0;
  let lastLine = 0;
  let rejected = checkpoint.rejected;
  let pending: Message[] = [];
  const flush = async () => {
    if (pending.length > 0) await sendChunked(producer, topic, pending);
    // What the topic holds once this chunk is acknowledged: a later run trusts the checkpoint only while it still does.
    checkpoint = {
      ...checkpoint,
      linesDone: lastLine,
      produced: checkpoint.produced + pending.length,
      rejected,
      endOffsets: await liberation.endOffsets(),
    };
    writeCheckpoint(checkpointPath, checkpoint);
    pending = [];
  };
  const state = () => ({ bytesRead: snapshot.bytesRead(), rows, produced: checkpoint.produced + pending.length, rejected });
  const producer = orderedProducer(await context.kafka());
  await producer.connect();
  try {
    for await (const row of snapshot.rows) {
      rows += 1;
      lastLine = row.endLine;
      if (rows % PROGRESS_EVERY_ROWS === 0) progress.update(state());
      if (row.line <= resumedAt) continue;
      const problems = [...row.problems];
      const value = row.value;
      const key = value?.[keyField];
      if (value && (typeof key !== 'string' || key === '')) problems.push(`key field "${keyField}" must be a non-empty string`);
      // A snapshot often has more columns than the entity: they are left out, and named in the summary.
      if (value && schema) for (const field of undeclaredFields(schema, value)) ignoredFields.add(field);
      if (value && schema)
        schema.isValid(value, {
          errorHook: (path, found) =>
            problems.push(`${path.join('.') || '(row)'}: ${JSON.stringify(found) ?? 'missing'} does not match the schema`),
        });
      if (problems.length > 0 || !value) {
        rejects.push({ line: row.line, problems });
        rejected += 1;
        continue;
      }
      // In the topic's wire format (Avro with its schema id when the topic declares a schema).
      // One trace per row: each fact starts the journey of its entity's change.
      pending.push({ key: key as string, value: await format.encode(value), headers: traceHeaders(newRootContext()) });
      if (pending.length >= CHUNK_ROWS) await flush();
    }
    await flush();
    checkpoint = { ...checkpoint, completed: true };
    writeCheckpoint(checkpointPath, checkpoint);
  } finally {
    await producer.disconnect();
  }
  progress.finish(state());
  return {
    done: checkpoint,
    // Physical lines of rows (a CSV header aside), and rows: more lines than rows when quoted cells hold line breaks.
    linesRead: rows === 0 ? 0 : lastLine - snapshot.headerEndLine,
    rowsRead: rows,
    resumedAfterLine: resumedAt,
    rejectedRows: rejects,
    ignoredFields: [...ignoredFields].sort(),
  };
}
