import type { IHeaders, KafkaMessage } from 'kafkajs';
import { readValue, type ValueFormat } from '../../schemas';
import { printedTrace, type PrintedTrace } from './record-trace';

/** A record as the CLI prints it: key as text, value decoded from its topic's format, headers as text, and its trace. */
export interface PrintedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: string;
  readonly key: string | null;
  readonly value: unknown;
  readonly headers: Record<string, string>;
  /** The W3C trace it belongs to; absent when it carries no valid `traceparent`. */
  readonly trace?: PrintedTrace;
}

export async function printable(topic: string, partition: number, message: KafkaMessage, format: ValueFormat): Promise<PrintedRecord> {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: new Date(Number(message.timestamp)).toISOString(),
    key: message.key?.toString('utf8') ?? null,
    value: message.value === null ? null : await decodeValue(message.value, format),
    headers: headersAsText(message.headers ?? {}),
    ...traceField(message.headers),
  };
}

function traceField(headers: IHeaders | undefined): { trace?: PrintedTrace } {
  const trace = printedTrace(headers);
  return trace ? { trace } : {};
}

/** The value as its format reads it; bytes it cannot read are shown as text with the reason, never hidden. */
async function decodeValue(value: Buffer, format: ValueFormat): Promise<unknown> {
  try {
    return await readValue(format, value);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    // Text when the bytes are text (a producer that skipped the serializer, say); base64 when they are binary.
    const text = value.toString('utf8');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching C0 control characters (other than tab, newline, vertical tab, form feed, carriage return) is the point: they mark the bytes as binary
    return Buffer.from(text, 'utf8').equals(value) && !/[\u0000-\u0008\u000e-\u001f]/.test(text)
      ? { unreadable: reason, text }
      : { unreadable: reason, base64: value.toString('base64') };
  }
}

export function headersAsText(headers: IHeaders): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.map(String).join(',') : String(value ?? '')]),
  );
}
