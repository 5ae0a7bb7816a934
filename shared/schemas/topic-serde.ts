import { Type, type Resolver, type Schema } from 'avsc';
import { forEachConcurrently } from '../concurrency';
import { SchemaError, SchemaRegistryUnavailableError, SchemaValidationError } from './errors';
import type { SchemaRegistry } from './schema-registry';
import { undeclaredFields } from './record-values';
import { decodeWireFormat, encodeWireFormat } from './wire-format';

/** Look-ups at once when a batch's ids are fetched ahead: enough to overlap round trips, few enough for a registry's rate limit. */
const PREFETCH_CONCURRENCY = 4;

/**
 * Encodes and decodes one topic's values: Avro in the Confluent wire format,
 * validated against the topic's current schema (the newest version in the
 * repository). Decoding reads any registered version into the current one by
 * Avro schema resolution, so consumers keep working while producers upgrade.
 */
export class TopicSerde {
  private readonly reader: Type;
  /** As written: what is registered (the parsed type would drop defaults and logical types). */
  private readonly schema: Schema;
  private schemaId: Promise<number> | undefined;
  private readonly resolvers = new Map<number, Promise<{ readonly writer: Type; readonly resolver: Resolver }>>();

  constructor(
    readonly subject: string,
    schema: Schema,
    private readonly registry: SchemaRegistry,
  ) {
    this.schema = schema;
    this.reader = Type.forSchema(schema);
  }

  /**
   * The problems of a value against the current schema, each with its field path; empty when it is valid.
   * `strict`: a field the schema does not declare is a problem too (a misspelt field would otherwise be dropped).
   */
  problems(value: unknown, options: { readonly strict?: boolean } = {}): string[] {
    const problems: string[] = [];
    if (options.strict) problems.push(...undeclaredFields(this.reader, value).map((field) => `${field}: not a field of the schema`));
    this.reader.isValid(value, {
      errorHook: (path, invalid, type) =>
        problems.push(
          `${path.length > 0 ? path.join('.') : '(value)'}: ${JSON.stringify(invalid) ?? 'undefined'} is not a valid ${describe(type)}`,
        ),
    });
    return problems;
  }

  /** The registry id of the current schema (registered on first use). */
  id(): Promise<number> {
    this.schemaId ??= this.registry.register(this.subject, this.schema).catch((error: unknown) => {
      this.schemaId = undefined;
      throw error;
    });
    return this.schemaId;
  }

  /** @throws SchemaValidationError listing every invalid field */
  async encode(value: unknown): Promise<Buffer> {
    const problems = this.problems(value);
    if (problems.length > 0) throw new SchemaValidationError(this.subject, problems);
    return encodeWireFormat(await this.id(), this.reader.toBuffer(value));
  }

  /** @throws WireFormatError, UnknownSchemaError, or SchemaError when the payload does not decode */
  async decode(bytes: Buffer): Promise<unknown> {
    const { schemaId, payload } = decodeWireFormat(bytes);
    const { resolver } = await this.resolverFor(schemaId);
    try {
      return this.reader.fromBuffer(payload, resolver);
    } catch (error) {
      throw new SchemaError(`payload does not decode with schema ${schemaId} of "${this.subject}": ${(error as Error).message}`);
    }
  }

  /**
   * Looks up the writer schemas these values need, a few ids at a time, so
   * a batch waits for its distinct ids together rather than one after another
   * as its records are read. Stops asking once the registry cannot be asked
   * (each request may take its full timeout). Never throws: reading each value
   * reports its own failure.
   */
  async prefetch(values: readonly Buffer[]): Promise<void> {
    const ids = new Set<number>();
    for (const bytes of values) {
      try {
        ids.add(decodeWireFormat(bytes).schemaId);
      } catch {
        // Not in the wire format: reading it says so.
      }
    }
    let unavailable = false;
    await forEachConcurrently([...ids], PREFETCH_CONCURRENCY, async (id) => {
      if (unavailable) return;
      await this.resolverFor(id).catch((error: unknown) => {
        if (error instanceof SchemaRegistryUnavailableError) unavailable = true;
      });
    });
  }

  private resolverFor(schemaId: number) {
    let cached = this.resolvers.get(schemaId);
    if (!cached) {
      let answered = false;
      cached = this.registry.schemaById(schemaId).then((schema) => {
        answered = true;
        let writer: Type;
        try {
          writer = Type.forSchema(schema);
        } catch (error) {
          // E.g. a schema with references to others, which this reader does not resolve.
          throw new SchemaError(`schema ${schemaId} is not an Avro schema this reader can parse: ${(error as Error).message}`);
        }
        try {
          return { writer, resolver: this.reader.createResolver(writer) };
        } catch (error) {
          throw new SchemaError(`schema ${schemaId} cannot be read as the current "${this.subject}" schema: ${(error as Error).message}`);
        }
      });
      // The registry's failures are its to remember (or not); a schema this reader cannot use stays unusable.
      cached.catch(() => answered || this.resolvers.delete(schemaId));
      this.resolvers.set(schemaId, cached);
    }
    return cached;
  }
}

function describe(type: Type): string {
  return type.typeName === 'record' || type.typeName === 'enum' ? `${type.typeName} ${type.name ?? ''}`.trim() : type.typeName;
}
