import type { Context } from 'aws-lambda';
/**
 * The event Lambda's MSK event source mapping hands to a function, built from
 * Kafka records exactly as AWS builds it. The `@types/aws-lambda` MSK types
 * declare `key` and `value` as always present; AWS omits `key` for a null key and
 * `value` for a tombstone, so handlers here use these types instead.
 */

export type MskTimestampType = 'CREATE_TIME' | 'LOG_APPEND_TIME';

/** One header: a single-key object whose value is the header's bytes as signed Java bytes (−128…127). */
export type MskRecordHeader = Record<string, number[]>;

export interface MskRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly timestampType: MskTimestampType;
  /** Base64; absent when the record has no key. */
  readonly key?: string;
  /** Base64; absent for a tombstone (null value). */
  readonly value?: string;
  readonly headers: readonly MskRecordHeader[];
}

export interface MskEvent {
  readonly eventSource: 'aws:kafka';
  readonly eventSourceArn: string;
  /** Comma-separated host:port list. */
  readonly bootstrapServers: string;
  /** Keyed by `<topic>-<partition>`. */
  readonly records: Readonly<Record<string, readonly MskRecord[]>>;
}

/** An MSK-triggered Lambda handler: async, returning nothing or a partial batch response. */
export type MskHandler = (event: MskEvent, context: Context) => Promise<unknown> | unknown;

/** A Kafka record as it is on the broker (raw key, value and headers), before any encoding. */
export interface SourceRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly timestampType: MskTimestampType;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** In wire order; a key may repeat. */
  readonly headers: ReadonlyArray<readonly [string, Buffer]>;
}

/** Where a batch came from, as the event names it. */
export interface EventSourceIdentity {
  readonly eventSourceArn: string;
  readonly bootstrapServers: readonly string[];
}

/** The `records` key of a partition: `<topic>-<partition>`. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** Header bytes as Java's signed bytes, which is how AWS serializes them. */
export function toSignedBytes(bytes: Uint8Array): number[] {
  return Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

export function toMskRecord(record: SourceRecord): MskRecord {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    timestampType: record.timestampType,
    ...(record.key === null ? {} : { key: record.key.toString('base64') }),
    ...(record.value === null ? {} : { value: record.value.toString('base64') }),
    headers: record.headers.map(([name, bytes]) => ({ [name]: toSignedBytes(bytes) })),
  };
}

/** Groups records by partition, in the order given, into one event. */
export function buildMskEvent(records: readonly MskRecord[], source: EventSourceIdentity): MskEvent {
  const byPartition: Record<string, MskRecord[]> = {};
  for (const record of records) {
    const key = partitionKey(record.topic, record.partition);
    const partition = byPartition[key];
    if (partition) partition.push(record);
    else byPartition[key] = [record];
  }
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: source.eventSourceArn,
    bootstrapServers: source.bootstrapServers.join(','),
    records: byPartition,
  };
}

/** Bytes one record adds to the serialized event, used to keep each invocation under Lambda's 6 MB cap. */
export function serializedSize(record: MskRecord): number {
  return Buffer.byteLength(JSON.stringify(record)) + 1;
}
