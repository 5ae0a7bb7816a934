import type { Schema } from 'avsc';
import { InvalidSchemaError, SchemaError, SchemaRegistryUnavailableError, SchemaValidationError, UnknownSchemaError, UnreadableValueError, WireFormatError } from './errors';
import { lazySchemaRegistry } from './registry-from-environment';
import { repositorySchemas } from './repository-schemas';
import type { SubjectSchemas } from './schema-catalog';
import type { SchemaRegistry } from './schema-registry';
import { TopicSerde } from './topic-serde';
import { withDefaults } from './validated-json-codec';

/**
 * How a topic's values are laid out on the wire. The platform's logic (joins,
 * hot streams, projections) works on JSON; a format converts at the edge, as
 * a Confluent serializer and deserializer would.
 */
export interface ValueFormat {
  /** For messages and `--help`: "JSON", or the schema and wire format. */
  readonly description: string;
  /**
   * Wire bytes to the value as JSON text.
   * @throws UnreadableValueError when no retry can read them (dead-letter the record);
   *   SchemaRegistryUnavailableError when the registry could not be asked (retry)
   */
  read(bytes: Buffer): Promise<Buffer>;
  /**
   * A JSON value to wire bytes.
   * @throws SchemaValidationError naming every field that does not match; SchemaRegistryUnavailableError
   */
  write(json: Buffer): Promise<Buffer>;
}

/** Values are JSON text as they are: the default, and what topics without a schema carry. */
export const JSON_VALUE_FORMAT: ValueFormat = Object.freeze({
  description: 'JSON',
  read: async (bytes: Buffer) => bytes,
  write: async (json: Buffer) => json,
});

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
export function avroValueFormat(options: AvroValueFormatOptions): ValueFormat {
  const subject = `${options.topic}-value`;
  const latest = options.schemas.latest;
  let serde: TopicSerde | undefined;
  let serdeRegistry: SchemaRegistry | undefined;
  const current = () => {
    const registry = options.registry();
    if (!serde || serdeRegistry !== registry) {
      serde = new TopicSerde(subject, latest.schema as Schema, registry);
      serdeRegistry = registry;
    }
    return serde;
  };
  return Object.freeze({
    description: `Avro (${options.schemas.subject} v${latest.version}) in the Confluent wire format, subject ${subject}`,
    async read(bytes: Buffer): Promise<Buffer> {
      let value: unknown;
      try {
        value = await current().decode(bytes);
      } catch (error) {
        throw unreadable(error);
      }
      return Buffer.from(JSON.stringify(value));
    },
    async write(json: Buffer): Promise<Buffer> {
      let value: unknown;
      try {
        value = JSON.parse(json.toString('utf8'));
      } catch (error) {
        throw new SchemaValidationError(subject, [`(value): not JSON (${(error as Error).message})`]);
      }
      return current().encode(withDefaults(latest.type, value));
    },
  });
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
export function topicValueFormat(topic: TopicValueDeclaration, registry: () => SchemaRegistry = lazySchemaRegistry()): ValueFormat {
  if (topic.valueSchema === undefined) return JSON_VALUE_FORMAT;
  const schemas = repositorySchemas().get(topic.valueSchema);
  if (!schemas) throw new InvalidSchemaError(`topic "${topic.name}" names value schema "${topic.valueSchema}", which is not in schemas/`);
  return avroValueFormat({ topic: topic.name, schemas, registry });
}

/** A JSON value in the format's wire bytes; a tombstone (null) stays null. */
export async function writeValue(format: ValueFormat, value: unknown): Promise<Buffer | null> {
  return value === null ? null : format.write(Buffer.from(JSON.stringify(value)));
}

/** Wire bytes read as a JSON value; a tombstone (null) stays null. @throws UnreadableValueError */
export async function readValue(format: ValueFormat, bytes: Buffer | null): Promise<unknown> {
  return bytes === null ? null : (JSON.parse((await format.read(bytes)).toString('utf8')) as unknown);
}
