import { randomUUID } from 'node:crypto';
import type { IHeaders, Producer } from 'kafkajs';
import { PlatformError } from '../errors';
import { sendChunked } from '../kafka/send-chunked';
import type { TopicSerde } from '../schemas';
import { newRootContext, parseTraceparent, traceHeaders } from '../tracing';

/** The headers every record published through the platform's producers carries. */
export const STANDARD_HEADERS = {
  eventId: 'x-event-id',
  schemaId: 'x-schema-id',
  sourceSystem: 'x-source-system',
  causationId: 'x-causation-id',
  traceId: 'x-trace-id',
} as const;

/** Entities that do not match their topic's schema or have no usable key; nothing of the call was published. */
export class InvalidEntityError extends PlatformError {
  override readonly name = 'InvalidEntityError';
  constructor(
    readonly topic: string,
    /** Per rejected entity: its position in the call and what is wrong. */
    readonly rejected: ReadonlyArray<{ readonly index: number; readonly problems: readonly string[] }>,
  ) {
    super(
      `${rejected.length} entit${rejected.length === 1 ? 'y' : 'ies'} refused for "${topic}", nothing published: ` +
        rejected.map((entry) => `#${entry.index}: ${entry.problems.join('; ')}`).join(' | '),
    );
  }
}

/** Where an event came from and what caused it, carried in headers for tracing across services. */
export interface PublishContext {
  readonly causationId?: string;
  /** A free-form id of the caller's own, written as `x-trace-id` (the W3C context travels in `traceparent`). */
  readonly traceId?: string;
  /**
   * The caller's W3C trace context (its `traceparent` header value, e.g. from
   * the request being served): every record of the call carries it, so the
   * journey downstream continues the caller's trace. Without one (or when it
   * is not valid) each record starts a trace of its own.
   */
  readonly traceparent?: string;
  /** The caller's `tracestate`, passed on with its `traceparent`. */
  readonly tracestate?: string;
}

export interface EntityProducerOptions<T> {
  /** Must be the platform's ordered (idempotent, one in flight) producer: see `orderedProducer`. */
  readonly producer: Producer;
  readonly topic: string;
  readonly serde: TopicSerde;
  /** The entity's id: the record key, so every fact about one entity lands in one partition, in order. */
  readonly keyOf: (entity: T) => string;
  /** Names the publishing system in every record's headers. */
  readonly sourceSystem: string;
  /**
   * `avro` (the default, what the pipeline's consumers read): the Confluent
   * wire format, the schema id in the value. `json`: the value as JSON text,
   * checked against the schema, its id in `x-schema-id`, for a topic that
   * declares no schema.
   */
  readonly encoding?: 'json' | 'avro';
}

/**
 * Publishes a service's own entities to their entity topic the way the
 * platform expects: full state ("fact") events keyed by entity id, tombstones
 * for deletes, values checked against the topic's schema (JSON, or Avro in the
 * Confluent wire format), and the standard headers
 * (event id, schema id, source system, causation and trace ids, and the W3C
 * `traceparent`: the caller's context, or a new trace per record). A call is
 * validated whole before anything is sent: one invalid entity refuses the call
 * with every problem named, so a batch is never half-published by mistake.
 */
export class EntityProducer<T> {
  constructor(private readonly options: EntityProducerOptions<T>) {}

  /** @throws InvalidEntityError listing every invalid entity; nothing is published then */
  async publish(entities: readonly T[], context: PublishContext = {}): Promise<void> {
    const rejected: Array<{ index: number; problems: string[] }> = [];
    const keys = entities.map((entity, index) => {
      // Strict: a field the schema does not have is a mistake the caller should hear of, not a silent drop.
      const problems = this.options.serde.problems(entity, { strict: true });
      let key: string | undefined;
      try {
        key = this.options.keyOf(entity);
        if (typeof key !== 'string' || key === '') problems.push('the entity id (record key) must be a non-empty string');
      } catch (error) {
        problems.push(`the entity id cannot be read: ${(error as Error).message}`);
      }
      if (problems.length > 0) rejected.push({ index, problems });
      return key ?? '';
    });
    if (rejected.length > 0) throw new InvalidEntityError(this.options.topic, rejected);
    const schemaId = await this.options.serde.id();
    const values =
      (this.options.encoding ?? 'avro') === 'avro'
        ? await Promise.all(entities.map((entity) => this.options.serde.encode(entity)))
        : entities.map((entity) => Buffer.from(JSON.stringify(entity)));
    await this.send(values.map((value, index) => ({ key: keys[index]!, value, headers: this.headers(context, schemaId) })));
  }

  /** Publishes tombstones: the entities are deleted downstream (and compacted away). */
  async delete(ids: readonly string[], context: PublishContext = {}): Promise<void> {
    const invalid = ids.flatMap((id, index) =>
      typeof id === 'string' && id !== '' ? [] : [{ index, problems: ['the entity id (record key) must be a non-empty string'] }],
    );
    if (invalid.length > 0) throw new InvalidEntityError(this.options.topic, invalid);
    await this.send(ids.map((key) => ({ key, value: null, headers: this.headers(context, undefined) })));
  }

  private headers(context: PublishContext, schemaId: number | undefined): IHeaders {
    return {
      ...traceHeaders(parseTraceparent(context.traceparent, context.tracestate) ?? newRootContext()),
      [STANDARD_HEADERS.eventId]: randomUUID(),
      [STANDARD_HEADERS.sourceSystem]: this.options.sourceSystem,
      ...(schemaId === undefined ? {} : { [STANDARD_HEADERS.schemaId]: String(schemaId) }),
      ...(context.causationId ? { [STANDARD_HEADERS.causationId]: context.causationId } : {}),
      ...(context.traceId ? { [STANDARD_HEADERS.traceId]: context.traceId } : {}),
    };
  }

  private async send(messages: Array<{ key: string; value: Buffer | null; headers: IHeaders }>): Promise<void> {
    await sendChunked(this.options.producer, this.options.topic, messages);
  }
}
