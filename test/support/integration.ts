import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Admin, Kafka, Message } from 'kafkajs';
import { EventSourceMapping, type EventSourceMappingOptions } from '../../shared/local/event-source';
import type { MskEvent, MskHandler } from '../../shared/msk';
import { readLocalServicesConfig, startLocalRuntime, provisionPipeline, provisionTopics, type LocalRuntime } from '../../shared/local';
import { orderedProducer, topicRecordCount } from '../../shared/kafka';
import {
  definePipeline,
  type ConsumerDeclaration,
  type EventSourceSettings,
  type Pipeline,
  type TopicDeclaration,
} from '../../shared/pipeline';
import { writeValue, type ValueFormat } from '../../shared/schemas';
import { delay } from './delay';

/** The services the global setup started, reached through KAFKA_BROKERS / DYNAMODB_ENDPOINT. */
export async function connectToTestServices(): Promise<LocalRuntime> {
  const config = readLocalServicesConfig(process.env);
  if (!config.externalKafkaBrokers || !config.externalDynamoDbEndpoint) {
    throw new Error('Integration tests need the global setup (run them with `npm run test:integration`)');
  }
  return startLocalRuntime({ config });
}

/** The suite's services as one test file uses them: filled in by its `beforeAll`, released by its `afterAll`. */
export interface TestServices {
  readonly runtime: LocalRuntime;
  /** A kafkajs client with the file's client id. */
  readonly kafka: Kafka;
  /** Connected for the whole file. */
  readonly admin: Admin;
  readonly documents: DynamoDBDocumentClient;
}

/**
 * The set-up every integration test file shares: registers a `beforeAll` that connects to the
 * suite's services (a Kafka client named `clientId`, a connected admin, a DynamoDB document client)
 * and an `afterAll` that releases them. Call it first in a `describe`, so the file's own hooks run
 * after it; the handle's fields can be read from then on, in hooks and tests.
 *
 * Jest runs a block's `afterAll` hooks in the order they were declared, so these clients are
 * released before the file's own `afterAll` runs: give `admin` and `documents` to nothing the file
 * stops only there (a running pipeline's handlers, say).
 *
 * @example
 * const services = useTestServices('my-test');
 * it('…', async () => { await produce(services.kafka, topic, messages); });
 */
export function useTestServices(clientId: string): TestServices {
  let services: TestServices | undefined;
  beforeAll(async () => {
    const runtime = await connectToTestServices();
    const kafka = runtime.kafkaClient(clientId);
    const admin = kafka.admin();
    await admin.connect();
    services = { runtime, kafka, admin, documents: DynamoDBDocumentClient.from(runtime.dynamoDbClient()) };
  });
  afterAll(async () => {
    services?.documents.destroy();
    await services?.admin.disconnect();
  });
  const connected = (): TestServices => {
    if (!services) throw new Error('useTestServices: the services are connected in beforeAll; read them in hooks and tests');
    return services;
  };
  return {
    get runtime() {
      return connected().runtime;
    },
    get kafka() {
      return connected().kafka;
    },
    get admin() {
      return connected().admin;
    },
    get documents() {
      return connected().documents;
    },
  };
}

/** Whether a topic answers offset requests: new topics do once their leaders are elected. */
export function answersOffsetRequests(admin: Admin, topic: string): Promise<boolean> {
  return admin.fetchTopicOffsets(topic).then(
    () => true,
    () => false,
  );
}

/** Creates the pipeline's topics and tables, and waits until every topic has its leaders. */
export async function provisionPipelineAndLeaders({ runtime, admin }: TestServices, pipeline: Pipeline): Promise<void> {
  const dynamodb = runtime.dynamoDbClient();
  try {
    await provisionPipeline({ kafkaAdmin: admin, dynamodb }, pipeline);
  } finally {
    dynamodb.destroy();
  }
  await eventually('every topic has its leaders', async () =>
    (await Promise.all(pipeline.topics.map((topic) => answersOffsetRequests(admin, topic.name)))).every(Boolean),
  );
}

/** A name no other test uses, valid for topics, groups and tables. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export const NOOP_HANDLER_ENTRY = join(__dirname, '..', 'fixtures', 'noop-handler.ts');

export interface SingleConsumerPipeline {
  readonly pipeline: Pipeline;
  readonly sourceTopic: string;
  readonly deadLetterTopic: string;
  readonly groupId: string;
}

/**
 * A pipeline with one source topic, one dead-letter topic and one consumer, all
 * uniquely named, with its topics created on the test broker.
 */
export async function singleConsumerPipeline(
  admin: Admin,
  options: {
    partitions?: number;
    kind?: TopicDeclaration['kind'];
    eventSource?: EventSourceSettings;
    consumer?: Partial<ConsumerDeclaration>;
    /** Sends what fails for good to the pipeline's own dead-letter topic (the consumer's `onFailure`). */
    deadLetterOnFailure?: boolean;
  } = {},
): Promise<SingleConsumerPipeline> {
  const sourceTopic = uniqueName('source');
  const deadLetterTopic = `${sourceTopic}.dlq`;
  const pipeline = definePipeline({
    name: uniqueName('test'),
    topics: [
      { name: sourceTopic, kind: options.kind ?? 'event', partitions: options.partitions ?? 1 },
      { name: deadLetterTopic, kind: 'dead-letter', partitions: 1 },
    ],
    consumers: [
      {
        name: 'consumer',
        handler: { entry: NOOP_HANDLER_ENTRY },
        topic: sourceTopic,
        ...options.consumer,
        eventSource: {
          maximumBatchingWindowMs: 50,
          ...options.eventSource,
          ...(options.deadLetterOnFailure ? { onFailure: { kind: 'kafka' as const, topic: deadLetterTopic } } : {}),
        },
      },
    ],
  });
  await provisionTopics(admin, pipeline.topics);
  const groupId = pipeline.consumers[0]!.eventSource.consumerGroupId;
  return { pipeline, sourceTopic, deadLetterTopic, groupId };
}

/** An event source mapping for the pipeline's only consumer, with fast retries unless told otherwise. */
export function mappingFor(
  { runtime, kafka }: Pick<TestServices, 'runtime' | 'kafka'>,
  pipeline: Pipeline,
  handler: MskHandler,
  overrides: Partial<EventSourceMappingOptions> = {},
): EventSourceMapping {
  return new EventSourceMapping({
    consumer: pipeline.consumers[0]!,
    kafka,
    bootstrapServers: runtime.kafka.brokers,
    handler,
    retryDelayMs: () => 20,
    ...overrides,
  });
}

/** Starts the mapping, runs `body`, and always stops the mapping so the suite exits cleanly. */
export async function whileRunning<T>(mapping: EventSourceMapping, body: () => Promise<T>): Promise<T> {
  try {
    await mapping.start();
    return await body();
  } finally {
    await mapping.stop();
  }
}

/** Produces and waits for acknowledgement from every replica. */
export async function produce(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  // Idempotent, so a retried request can never write a record twice and shift the offsets tests expect.
  const producer = orderedProducer(kafka);
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Entity facts in their topic's wire format (Avro with a schema id, say), as an upstream producer
 * with a serializer writes them: `facts(topic, [[key, value or null], …])`, by the topics' `formats`.
 */
export function factsFor(formats: ReadonlyMap<string, ValueFormat>) {
  return <T>(topic: string, entries: Iterable<readonly [string, T | null]>): Promise<Message[]> => {
    const format = formats.get(topic)!;
    return Promise.all([...entries].map(async ([key, value]) => ({ key, value: await writeValue(format, value) })));
  };
}

export interface ConsumedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  /** As UTF-8 text (JSON topics). */
  readonly value: string | null;
  /** As the bytes on the broker (Avro in the wire format, say). */
  readonly valueBytes: Buffer | null;
  readonly headers: Record<string, string>;
}

/** The records ever written to a topic (its end offsets summed). */
export async function recordCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await topicRecordCount(admin, topic);
  } finally {
    await admin.disconnect();
  }
}

/** Reads a topic from the beginning until `count` records arrived, or fails after `timeoutMs`. */
export async function readTopic(kafka: Kafka, topic: string, count: number, timeoutMs = 30_000): Promise<ConsumedRecord[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
  const records: ConsumedRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`read ${records.length} of ${count} records from ${topic} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          records.push({
            partition,
            offset: Number(message.offset),
            key: message.key?.toString() ?? null,
            value: message.value?.toString() ?? null,
            valueBytes: message.value,
            headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)])),
          });
          if (records.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Every record a topic holds now. */
export async function readAll(kafka: Kafka, topic: string): Promise<ConsumedRecord[]> {
  const total = await recordCount(kafka, topic);
  return total === 0 ? [] : readTopic(kafka, topic, total);
}

/** The consumer group's committed offset per partition (−1 where nothing is committed). */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
}

/** Polls until `check` returns true, failing with `description` after `timeoutMs`. */
export async function eventually(description: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await delay(50);
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting until ${description}`);
}

/** Flattens an event's records, decoding keys and values to text, for assertions. */
export function decodedRecords(event: MskEvent) {
  return Object.entries(event.records).flatMap(([partitionKey, records]) =>
    records.map((record) => ({
      partitionKey,
      partition: record.partition,
      offset: record.offset,
      key: record.key === undefined ? null : Buffer.from(record.key, 'base64').toString(),
      value: record.value === undefined ? null : Buffer.from(record.value, 'base64').toString(),
    })),
  );
}
