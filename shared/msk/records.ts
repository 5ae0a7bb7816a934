import type { MskRecord, SourceRecord } from './event';

/** A record's key as UTF-8 text, or null when the record has none. */
export function decodeKey(record: MskRecord): string | null {
  return record.key === undefined ? null : Buffer.from(record.key, 'base64').toString('utf8');
}

/** The last value of a header as UTF-8 text; AWS sends header bytes as signed numbers. */
export function headerText(record: MskRecord, name: string): string | undefined {
  let last: number[] | undefined;
  for (const header of record.headers) {
    const bytes = header[name];
    if (bytes) last = bytes;
  }
  return last === undefined ? undefined : Buffer.from(Int8Array.from(last).buffer).toString('utf8');
}

/** Every record of an event, partition by partition, each partition in offset order. */
export function recordsOf(event: { readonly records: Readonly<Record<string, readonly MskRecord[]>> }): MskRecord[] {
  return Object.values(event.records).flat();
}

/** The record as it was on the broker (raw key, value and headers), e.g. to dead-letter it unchanged. */
export function sourceRecordOfMskRecord(record: MskRecord): SourceRecord {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    timestampType: record.timestampType,
    key: record.key === undefined ? null : Buffer.from(record.key, 'base64'),
    value: record.value === undefined ? null : Buffer.from(record.value, 'base64'),
    headers: record.headers.flatMap((header) =>
      Object.entries(header).map(([name, bytes]) => [name, Buffer.from(Int8Array.from(bytes).buffer)] as const),
    ),
  };
}

/**
 * The first bytes of each record's value, enough for the wire format's magic
 * byte and schema id (8 base64 characters are 6 bytes): what a value format's
 * `prefetch` needs to look a batch's schema ids up ahead, without decoding
 * whole values twice.
 */
export function valueHeads(records: readonly MskRecord[]): Buffer[] {
  return records.flatMap((record) => (record.value ? [Buffer.from(record.value.slice(0, 8), 'base64')] : []));
}
