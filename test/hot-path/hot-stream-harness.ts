import { gunzipSync, gzipSync } from 'node:zlib';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { buildMskEvent, toSignedBytes, type MskRecord } from '../../shared/msk';
import {
  createHotStreamHandler,
  defineHotStream,
  FLUSH_TICK_HEADER,
  HotPathProcessor,
  hotStateTableVariable,
  HotStateStore,
  type HotDelta,
  type HotPathProcessorOptions,
  type HotStream,
} from '../../shared/hot-path';
import { definePriceStream, parsePriceUpdate, type defineStockStream, type PriceUpdate } from '../../example';
import { findFreePort, provisionTables, provisionTopics } from '../../shared/local';
import { definePipeline, type Pipeline } from '../../shared/pipeline';
import type { ValueFormat } from '../../shared/schemas';
import { NOOP_HANDLER_ENTRY, readTopic, uniqueName, type ConsumedRecord, type TestServices } from '../support/integration';

/** What the hot-path tests share: a one-stream pipeline, updates, and events as the event source delivers them. */

export function pipelineWith(stream: HotStream<never> | HotStream<PriceUpdate> | ReturnType<typeof defineStockStream>): Pipeline {
  return definePipeline({
    name: uniqueName('hot'),
    topics: [
      { name: stream.inputTopic, kind: 'event', partitions: 2 },
      { name: stream.outputTopic, kind: 'event', partitions: 2 },
      { name: stream.deadLetterTopic, kind: 'dead-letter', partitions: 1 },
      ...(stream.verbosity.mode === 'delta-and-entity'
        ? [{ name: stream.verbosity.entityTopic, kind: 'entity' as const, partitions: 2 }]
        : []),
    ],
    hotStreams: [
      {
        stream: stream as HotStream<never>,
        handler: { entry: NOOP_HANDLER_ENTRY },
        eventSource: { maximumBatchingWindowMs: 50 },
        flushTickIntervalMs: 200,
      },
    ],
  });
}

/** A hot stream's name, unique, and its topics: `<name>.updates` in, `<name>.deltas` out, `<name>.dlq`. */
export function hotStreamTopics(prefix: string) {
  const name = uniqueName(prefix);
  return { name, inputTopic: `${name}.updates`, outputTopic: `${name}.deltas`, deadLetterTopic: `${name}.dlq` };
}

export function prices(minEmitIntervalMs: number, coalesceWindowMs = 0) {
  return definePriceStream({ ...hotStreamTopics('prices'), minEmitIntervalMs, coalesceWindowMs });
}

export const price = (version: number, amountMinor: number, extra: Partial<PriceUpdate> = {}): PriceUpdate => ({
  version,
  sourceTimestamp: 1_700_000_000_000 + version,
  amountMinor,
  currency: 'EUR',
  ...extra,
});

/** A price update that carries a note: what a stream whose parse keeps more than the slim fields stores. */
export type NotedPrice = PriceUpdate & { readonly note: string };
export const noted = (version: number, amountMinor: number, note: string): NotedPrice => ({ ...price(version, amountMinor), note });

/** A stream of {@link NotedPrice}s, its values gzip-compressed: a small record can then carry an update far too large to store. */
export function notedPrices(): HotStream<NotedPrice> {
  return defineHotStream<NotedPrice>({
    ...hotStreamTopics('noted-prices'),
    minEmitIntervalMs: 0,
    parse: (value) => ({ ...parsePriceUpdate(value), note: String((value as { note?: unknown }).note) }),
    stateKey: (itemId) => itemId,
    sameValue: (a, b) => a.amountMinor === b.amountMinor && a.note === b.note,
    formats: { input: GZIP_JSON_FORMAT },
  });
}

/** Record headers as Lambda's MSK event carries them: one single-key object of signed bytes per header. */
export function mskHeaders(headers: Readonly<Record<string, string>> = {}): MskRecord['headers'] {
  return Object.entries(headers).map(([name, value]) => ({ [name]: toSignedBytes(Buffer.from(value)) }));
}

/** An MSK event as the event source would deliver it, for calling a handler directly: values as JSON, Buffers as they are; headers as text. */
export function eventOf(
  topic: string,
  updates: Array<[key: string, value: unknown, headers?: Readonly<Record<string, string>>]>,
  partition = 0,
  firstOffset = 0,
) {
  const records: MskRecord[] = updates.map(([key, value, headers], index) => ({
    topic,
    partition,
    offset: firstOffset + index,
    timestamp: Date.now(),
    timestampType: 'CREATE_TIME',
    key: Buffer.from(key).toString('base64'),
    value: (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString('base64'),
    headers: mskHeaders(headers),
  }));
  return buildMskEvent(records, {
    eventSourceArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/local/test',
    bootstrapServers: ['127.0.0.1:9092'],
  });
}

/** The event a flush tick produces: one record on the partition, marked as a tick (with the ticker's trace headers, if given). */
export function tickEvent(topic: string, partition: number, offset: number, headers: Readonly<Record<string, string>> = {}) {
  const tick: MskRecord = {
    topic,
    partition,
    offset,
    timestamp: Date.now(),
    timestampType: 'CREATE_TIME',
    key: Buffer.from('__flush-tick__').toString('base64'),
    value: Buffer.from('{}').toString('base64'),
    headers: [{ [FLUSH_TICK_HEADER]: [49] }, ...mskHeaders(headers)],
  };
  return buildMskEvent([tick], {
    eventSourceArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/local/test',
    bootstrapServers: ['127.0.0.1:9092'],
  });
}

export const context = { getRemainingTimeInMillis: () => 60_000 } as Context;

export interface HandlerOptions {
  readonly documents?: DynamoDBDocumentClient;
  readonly now?: () => number;
  readonly environmentId?: string;
  readonly reportBatchItemFailures?: boolean;
  /** More environment for the handler (X-Ray's, say). */
  readonly env?: Readonly<Record<string, string>>;
}

/** A stream with its topics and table created, and a handler made for it (more: `handlerIn`, another execution environment). */
export async function deployHotStream<
  S extends HotStream<never> | ReturnType<typeof definePriceStream> | ReturnType<typeof defineStockStream>,
>(services: TestServices, stream: S, options: HandlerOptions = {}) {
  const { runtime, kafka, admin, documents } = services;
  const pipeline = pipelineWith(stream);
  await provisionTopics(admin, pipeline.topics);
  await provisionTables(runtime.dynamoDbClient(), pipeline.tables);
  const tableName = pipeline.hotStreams[0]!.table.name;
  const handlerIn = (environment: HandlerOptions) =>
    createHotStreamHandler(stream as HotStream<never>, {
      env: { [hotStateTableVariable(stream.name)]: tableName, KAFKA_BROKERS: runtime.kafka.brokers.join(','), ...environment.env },
      documents: environment.documents ?? documents,
      kafka,
      ...(environment.now ? { now: environment.now } : {}),
      ...(environment.environmentId ? { environmentId: environment.environmentId } : {}),
      ...(environment.reportBatchItemFailures !== undefined ? { reportBatchItemFailures: environment.reportBatchItemFailures } : {}),
    });
  const handler = handlerIn(options);
  const stored = (key: string) => new HotStateStore<PriceUpdate>(documents, tableName).get(key);
  const deltas = async (count: number) =>
    (await readTopic(kafka, stream.outputTopic, count)).map((record) => JSON.parse(record.value!) as PriceUpdate & { key: string });
  /** The stream's dead letters, by source offset. */
  const letters = async (count: number): Promise<Map<number, ConsumedRecord>> =>
    new Map(
      (await readTopic(kafka, stream.deadLetterTopic, count)).map((letter) => [
        Number(letter.headers['x-dead-letter-source-offset']),
        letter,
      ]),
    );
  return { pipeline, tableName, handler, handlerIn, stored, deltas, letters };
}

/**
 * A processor for the stream, on a state table of its own, whose sink keeps what it publishes in
 * `published`; after `failNextPublish()`, its next non-empty publish fails ("broker unreachable").
 */
export async function processorWithFlakySink(
  services: TestServices,
  stream: ReturnType<typeof prices>,
  options: HotPathProcessorOptions<PriceUpdate>,
) {
  const pipeline = pipelineWith(stream);
  await provisionTables(services.runtime.dynamoDbClient(), pipeline.tables);
  const store = new HotStateStore<PriceUpdate>(services.documents, pipeline.hotStreams[0]!.table.name);
  const published: HotDelta<PriceUpdate>[] = [];
  let failNext = false;
  const processor = new HotPathProcessor(
    stream,
    store,
    {
      publish: async (deltas) => {
        if (failNext && deltas.length > 0) {
          failNext = false;
          throw new Error('broker unreachable');
        }
        published.push(...deltas);
      },
    },
    options,
  );
  const failNextPublish = () => {
    failNext = true;
  };
  return { processor, store, published, failNextPublish, partition: `${stream.inputTopic}-0` };
}

/**
 * A TCP proxy in front of a local service that can be taken away and brought
 * back: closed, its port refuses connections (and open ones are cut), as a
 * service that is down does; open, it forwards to the service.
 */
export async function switchableProxy(target: string) {
  const { hostname, port: targetPort } = new URL(target);
  const port = await findFreePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    open: () =>
      new Promise<void>((resolve) => {
        server = createServer((client) => {
          const upstream = connect(Number(targetPort), hostname);
          track(client);
          track(upstream);
          client.on('error', () => upstream.destroy());
          upstream.on('error', () => client.destroy());
          client.pipe(upstream).pipe(client);
        });
        server.listen(port, '127.0.0.1', () => resolve());
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (!server) return resolve();
        server.close(() => resolve());
        server = undefined;
      }),
  };
}

/** Values as gzip-compressed JSON: a small record can then carry an update far too large to store. */
export const GZIP_JSON_FORMAT: ValueFormat = {
  description: 'JSON, gzip-compressed',
  decode: async (bytes) => JSON.parse(gunzipSync(bytes).toString('utf8')) as unknown,
  encode: async (value) => gzipSync(JSON.stringify(value)),
};
