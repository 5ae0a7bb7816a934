import type { IHeaders, KafkaMessage } from 'kafkajs';

/** A record as the CLI prints it: key and value as text (JSON parsed when it is JSON), headers as text. */
export interface PrintedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: string;
  readonly key: string | null;
  readonly value: unknown;
  readonly headers: Record<string, string>;
}

export function printable(topic: string, partition: number, message: KafkaMessage): PrintedRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: new Date(Number(message.timestamp)).toISOString(),
    key: message.key?.toString('utf8') ?? null,
    value: message.value === null ? null : decodeValue(message.value),
    headers: headersAsText(message.headers ?? {}),
  };
}

function decodeValue(value: Buffer): unknown {
  // Confluent wire format (magic byte 0): shown as the schema id and the payload's size; JSON is shown parsed.
  if (value.length >= 5 && value[0] === 0) return { schemaId: value.readInt32BE(1), avroBytes: value.length - 5 };
  const text = value.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function headersAsText(headers: IHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.map(String).join(',') : String(value ?? '')]));
}
