import { JOIN_OUTPUT_HEADERS, parseJoinPosition } from '../../fk-join';
import type { Join } from '../../pipeline';
import { UsageError } from '../errors';
import { explainFailure } from '../explain-failure';
import type { PlatformAccess } from './platform-access';
import { printable, type PrintedRecord } from './record-format';
import { kafkaRecordSource, type FoundRecord, type RecordSource } from './record-lookup';

/**
 * Why a record of a join's output holds what it holds: the input records it
 * was joined from, found by the position every result carries
 * (`x-join-position`: the left and the right offset), each explained in turn
 * when it is itself a join's output. Which input caused the result (a left
 * update, or a right update fanned out) is read from the result's trace
 * (`x-trace-cause` names the span of the input record that caused it).
 */
export interface Lineage {
  readonly record: PrintedRecord;
  /** Set when the record is a join's output. */
  readonly join?: JoinLineage;
}

export interface JoinLineage {
  readonly name: string;
  readonly type: 'inner' | 'left';
  /** `<leftOffset>:<rightOffset>`, as the result carries it. */
  readonly position: string;
  /** The input whose record caused this result, by its trace; `unknown` when neither record's span is named. */
  readonly causedBy: 'left' | 'right' | 'unknown';
  readonly left: LineageInput;
  readonly right: LineageInput;
}

/** One side of a join: the record, or why there is none to show. */
export type LineageInput =
  | { readonly kind: 'record'; readonly topic: string; readonly lineage: Lineage }
  /** No record of this side took part: a deleted left record, one without a foreign key, or no right row for its key. */
  | { readonly kind: 'none'; readonly topic: string; readonly why: string }
  /** A record took part, but cannot be shown: compacted or deleted since, or its key cannot be known. */
  | { readonly kind: 'missing'; readonly topic: string; readonly key: string; readonly offset: number; readonly why: string };

/** The newest record of a key on a topic, explained. */
export interface Explanation {
  readonly topic: string;
  readonly key: string;
  /** The join whose output the topic is. */
  readonly join: string;
  /** Null when the topic holds no record of the key (within the search limit). */
  readonly lineage: Lineage | null;
}

/** The topics `explain` takes: the joins' outputs. */
export function explainableTopics(access: Pick<PlatformAccess, 'pipeline'>): string[] {
  return access.pipeline.joins.map((deployed) => deployed.join.outputTopic);
}

/**
 * The newest record of `key` on a join's output topic, and its lineage down to
 * the records no join produced. Records are read from the brokers unless a
 * `source` is given.
 */
export async function explainRecord(access: PlatformAccess, topic: string, key: string, source?: RecordSource): Promise<Explanation> {
  const deployed = joinWithOutput(access, topic);
  if (!deployed) {
    const topics = explainableTopics(access);
    throw new UsageError(
      `topic "${topic}" is not a join's output in pipeline "${access.pipeline.name}": explain follows join results (${topics.length === 0 ? 'it has no joins' : `the join outputs are: ${topics.join(', ')}`})`,
    );
  }
  const records = source ?? kafkaRecordSource(await access.kafka());
  const latest = await records.latest(topic, key);
  return {
    topic,
    key,
    join: deployed.join.name,
    lineage: latest ? await lineageOf({ access, records }, latest, new Set()) : null,
  };
}

interface Reading {
  readonly access: PlatformAccess;
  readonly records: RecordSource;
}

function joinWithOutput(access: PlatformAccess, topic: string): Join | undefined {
  return access.pipeline.joins.find((deployed) => deployed.join.outputTopic === topic);
}

async function lineageOf(reading: Reading, found: FoundRecord, visited: ReadonlySet<string>): Promise<Lineage> {
  const record = await printable(found.topic, found.partition, found.message, reading.access.formatOf(found.topic));
  const deployed = joinWithOutput(reading.access, found.topic);
  const positionHeader = record.headers[JOIN_OUTPUT_HEADERS.position];
  const position = positionHeader === undefined ? undefined : parseJoinPosition(positionHeader);
  // A record on a join's output that no join wrote (produced by hand, say) has no position: nothing to follow.
  // A pipeline whose joins feed each other in a circle stops where it began.
  const here = `${found.topic}-${found.partition}@${found.message.offset}`;
  if (!deployed || !position || record.key === null || visited.has(here)) return { record };
  const seen = new Set([...visited, here]);
  const { join } = deployed;
  const left = await inputLineage(reading, join.leftTopic, record.key, position.leftOffset, seen);
  const right = await rightInput(reading, deployed, left, position.rightOffset, seen);
  const cause = record.trace?.causeSpanId;
  const spanOf = (input: LineageInput) => (input.kind === 'record' ? input.lineage.record.trace?.spanId : undefined);
  return {
    record,
    join: {
      name: join.name,
      type: join.type,
      position: positionHeader!,
      causedBy: cause === undefined ? 'unknown' : cause === spanOf(left) ? 'left' : cause === spanOf(right) ? 'right' : 'unknown',
      left,
      right,
    },
  };
}

async function inputLineage(
  reading: Reading,
  topic: string,
  key: string,
  offset: number,
  visited: ReadonlySet<string>,
): Promise<LineageInput> {
  const found = await reading.records.at(topic, key, offset);
  if (!found)
    return {
      kind: 'missing',
      topic,
      key,
      offset,
      why: `no record of key ${key} at offset ${offset} of ${topic} any more: compaction keeps only a key's newest record, and retention deletes old ones`,
    };
  return { kind: 'record', topic, lineage: await lineageOf(reading, found, visited) };
}

/**
 * The right record a result was joined with. Its key is the foreign key of the
 * left record the result was joined from, so the left record says first
 * whether there was one: a deleted left record and one without a foreign key
 * join with nothing, as a right offset of −1 says.
 */
async function rightInput(
  reading: Reading,
  deployed: Join,
  left: LineageInput,
  rightOffset: number,
  visited: ReadonlySet<string>,
): Promise<LineageInput> {
  const { join } = deployed;
  const topic = join.rightTopic;
  const missing = (why: string): LineageInput => ({ kind: 'missing', topic, key: '(unknown)', offset: rightOffset, why });
  if (left.kind !== 'record') {
    if (rightOffset < 0) return { kind: 'none', topic, why: 'joined without a right record' };
    return missing('the left record it was joined with is not there to name the foreign key');
  }
  const leftValue = left.lineage.record.value;
  if (leftValue === null) return { kind: 'none', topic, why: 'the left record is a tombstone: a deleted row joins with nothing' };
  let foreignKey: unknown;
  try {
    // The left value as its format read it (the newest schema version), which is what the join's foreignKey takes.
    foreignKey = join.foreignKey(leftValue as never);
  } catch (error) {
    return missing(`the join's foreignKey could not read the left record: ${explainFailure(error)}`);
  }
  if (foreignKey === null) return { kind: 'none', topic, why: 'the left record names no foreign key' };
  if (typeof foreignKey !== 'string' || foreignKey === '')
    return missing(`the join's foreignKey gave ${JSON.stringify(foreignKey)} for the left record, not a key`);
  if (rightOffset < 0) return { kind: 'none', topic, why: `no right row for its foreign key ${foreignKey} when it was joined` };
  return inputLineage(reading, topic, foreignKey, rightOffset, visited);
}
