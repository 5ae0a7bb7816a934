import type { Schema } from 'avsc';
import {
  InvalidSchemaError,
  SchemaError,
  SchemaRegistryUnavailableError,
  UnknownSchemaError,
  UnreadableValueError,
  WireFormatError,
} from './errors';
import { repositorySchemas } from './repository-schemas';
import type { SubjectSchemas } from './subject-schemas';
import type { SchemaRegistry } from './schema-registry';
import { TopicSerde } from './topic-serde';
import { withDefaults } from './record-values';

/**
 * How a topic's values are laid out on the wire, and the one conversion
 * between those bytes and the values the platform's logic (joins, hot streams,
 * projections) works on, as a Confluent serializer and deserializer would: a
 * record's value is decoded once on the way in and encoded once on the way out.
 * `T` is the value's type as the topic's schema (or the declaration) promises it.
 */
export interface ValueFormat<T = unknown> {
  /** For messages and `--help`: "JSON", or the schema and wire format. */
  readonly description: string;
  /**
   * Wire bytes to the value.
   * @throws UnreadableValueError when no retry can read them (dead-letter the record);
   *   SchemaRegistryUnavailableError when the registry could not be asked (retry)
   */
  decode(bytes: Buffer): Promise<T>;
  /**
   * A value to wire bytes.
   * @throws SchemaValidationError naming every field that does not match; SchemaRegistryUnavailableError
   */
  encode(value: T): Promise<Buffer>;
  /**
   * Readies the format to read a batch's values: an Avro topic looks up the
   * batch's distinct writer schema ids a few at a time, so records with a new
   * or unknown id cost one look-up per id, overlapped, before the records are
   * read one by one. Optional, and never throws: reading each value reports its own failure.
   *
   * @example
   * await format.prefetch?.(values);
   * for (const bytes of values) results.push(await format.decode(bytes).catch(deadLetter));
   */
  prefetch?(values: readonly Buffer[]): Promise<void>;
}

/** JSON text to a value. @throws UnreadableValueError when it is not JSON */
export function parseJsonValue(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (error) {
    throw new UnreadableValueError(
      'DESERIALIZATION_ERROR',
      `value is not valid JSON (${(error as Error).message}): ${bytes.toString('utf8').slice(0, 120)}`,
      { cause: error },
    );
  }
}

/** Values are JSON text as they are: the default, and what topics without a schema carry. */
export const JSON_VALUE_FORMAT: ValueFormat = Object.freeze({
  description: 'JSON',
  decode: async (bytes: Buffer) => parseJsonValue(bytes),
  encode: async (value: unknown) => Buffer.from(JSON.stringify(value)),
});

/**
 * JSON values typed as `T`. Decoding accepts any JSON value: narrow it where it
 * is used (a join's foreign-key extractor and joiner), or check it against a
 * schema with {@link validatedJsonValueFormat}.
 */
export function jsonValueFormat<T>(): ValueFormat<T> {
  return JSON_VALUE_FORMAT as ValueFormat<T>;
}

export interface AvroValueFormatOptions {
  /** The topic; its registry subject is `<topic>-value` (Confluent's default topic-name strategy). */
  readonly topic: string;
  /** The repository's versions of the topic's schema; values are read into, and written with, the newest. */
  readonly schemas: SubjectSchemas;
  /** Called on first use: a deployed function has no registry until its environment says where. */
  readonly registry: () => SchemaRegistry;
}

/**
 * Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro
 * binary), which Confluent's and Apicurio's serializers, Kafka Connect and
 * Lambda's schema-registry integration read. Reading resolves any registered
 * writer schema into the newest repository version, so consumers keep working
 * while producers upgrade; writing registers the newest version (once per
 * process) and refuses a value that does not match it.
 */
export function avroValueFormat<T = unknown>(options: AvroValueFormatOptions): ValueFormat<T> {
  const subject = `${options.topic}-value`;
  const latest = options.schemas.latest;
  let serde: TopicSerde | undefined;
  // Built on first use, when the environment names the registry.
  const topicSerde = () => (serde ??= new TopicSerde(subject, latest.schema as Schema, options.registry()));
  const decode = async (bytes: Buffer): Promise<T> => {
    try {
      return plainValue(await topicSerde().decode(bytes)) as T;
    } catch (error) {
      throw unreadable(error);
    }
  };
  const encode = (value: T): Promise<Buffer> => topicSerde().encode(withDefaults(latest.type, value));
  return Object.freeze({
    description: `Avro (${options.schemas.subject} v${latest.version}) in the Confluent wire format, subject ${subject}`,
    decode,
    encode,
    async prefetch(values: readonly Buffer[]): Promise<void> {
      let reader: TopicSerde;
      try {
        reader = topicSerde();
      } catch {
        return; // no registry configured: reading a value says so
      }
      await reader.prefetch(values);
    },
  });
}

/**
 * A decoded value as plain data: avsc decodes records into instances of classes
 * it generates, which compare unequal to plain objects and which the DynamoDB
 * document client refuses to marshal.
 */
function plainValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(plainValue);
  const plain: Record<string, unknown> = {};
  for (const [field, nested] of Object.entries(value)) plain[field] = plainValue(nested);
  return plain;
}

/** Sorts a decoding failure into one no retry can fix (dead-letter) or one a retry may (rethrown as is). */
function unreadable(error: unknown): unknown {
  if (error instanceof SchemaRegistryUnavailableError || !(error instanceof SchemaError)) return error;
  if (error instanceof WireFormatError) return new UnreadableValueError('NOT_WIRE_FORMAT', error.message, { cause: error });
  if (error instanceof UnknownSchemaError) return new UnreadableValueError('SCHEMA_NOT_FOUND', error.message, { cause: error });
  return new UnreadableValueError('DESERIALIZATION_ERROR', error.message, { cause: error });
}

/** What a topic declaration says of its values: `valueSchema` names a subject folder in `schemas/`. */
export interface TopicValueDeclaration {
  readonly name: string;
  readonly valueSchema?: string;
}

/**
 * A topic's format as its declaration says: Avro in the wire format, with the
 * newest version of the repository schema it names, or JSON when it names none.
 * @throws InvalidSchemaError when the named schema is not in the repository
 */
export function topicValueFormat<T = unknown>(topic: TopicValueDeclaration, registry: () => SchemaRegistry): ValueFormat<T> {
  if (topic.valueSchema === undefined) return jsonValueFormat<T>();
  const schemas = repositorySchemas().get(topic.valueSchema);
  if (!schemas) throw new InvalidSchemaError(`topic "${topic.name}" names value schema "${topic.valueSchema}", which is not in schemas/`);
  return avroValueFormat<T>({ topic: topic.name, schemas, registry });
}

/** A value in the format's wire bytes; a tombstone (null) stays null. */
export async function writeValue(format: ValueFormat, value: unknown): Promise<Buffer | null> {
  return value === null ? null : format.encode(value);
}

/** Wire bytes as a value; a tombstone (null) stays null. @throws as {@link ValueFormat.decode} */
export async function readValue(format: ValueFormat, bytes: Buffer | null): Promise<unknown> {
  return bytes === null ? null : format.decode(bytes);
}
