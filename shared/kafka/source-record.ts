import type { KafkaMessage } from 'kafkajs';
import type { MskTimestampType, SourceRecord } from '../msk';

/** A record as kafkajs read it from the broker, as it was there (raw key, value and headers). */
export function sourceRecordOfKafkaMessage(topic: string, partition: number, message: KafkaMessage): SourceRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: Number(message.timestamp),
    timestampType: timestampTypeOf(message),
    key: message.key ?? null,
    value: message.value ?? null,
    headers: Object.entries(message.headers ?? {}).flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value]).flatMap((bytes) =>
        bytes === undefined ? [] : [[name, Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)] as const],
      ),
    ),
  };
}

/** kafkajs keeps the record batch's timestamp type on an untyped `batchContext`. */
function timestampTypeOf(message: KafkaMessage): MskTimestampType {
  const context = (message as { batchContext?: { timestampType?: number } }).batchContext;
  return context?.timestampType === 1 ? 'LOG_APPEND_TIME' : 'CREATE_TIME';
}
