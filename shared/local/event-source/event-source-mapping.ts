import type { Consumer as KafkaConsumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { KafkaDeadLetterPublisher } from '../../dead-letter';
import { orderedProducer, sourceRecordOfKafkaMessage } from '../../kafka';
import { buildMskEvent, type MskHandler } from '../../msk';
import { effectiveMaximumRetryAttempts, EVENT_SOURCE_LIMITS, type Consumer } from '../../pipeline';
import { EventSourceError } from './errors';
import { invokeHandler, loadHandler } from './invoker';
import { PartitionWorker } from './partition-worker';
import { emptyStats, type EventSourceMappingStats } from './stats';

export type EventSourceLogger = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface EventSourceMappingOptions {
  /** The declared consumer: its topic, handler, timeout and event-source settings. */
  readonly consumer: Consumer;
  /** A kafkajs client for the cluster; the mapping makes its own consumer and dead-letter producer from it. */
  readonly kafka: Kafka;
  readonly bootstrapServers: readonly string[];
  /** @default a local MSK-style ARN */
  readonly eventSourceArn?: string;
  /** @default 'us-east-1' */
  readonly awsRegion?: string;
  /** @default the handler module the consumer declares, loaded with require() */
  readonly handler?: MskHandler;
  /** Pause before retry `attempt` of a failing batch. @default 200 ms doubling to 5 s */
  readonly retryDelayMs?: (attempt: number) => number;
  /** @default 6 MB, Lambda's payload cap */
  readonly maxPayloadBytes?: number;
  readonly log?: EventSourceLogger;
  readonly now?: () => number;
}

const defaultRetryDelay = (attempt: number) => Math.min(5_000, 200 * 2 ** (attempt - 1));

/**
 * Emulates Lambda's MSK event source mapping for one declared consumer against a
 * real broker: reads the topic as the consumer group, batches per partition,
 * invokes the handler with the exact AWS event, and applies AWS's retry,
 * bisect, partial-batch and on-failure rules. Offsets are committed only past
 * finished records, so stopping or crashing at any point loses nothing.
 *
 * @example
 * const mapping = new EventSourceMapping({ consumer: pipeline.consumers[0], kafka, bootstrapServers: brokers });
 * await mapping.start();
 * // ...
 * await mapping.stop();
 */
export class EventSourceMapping {
  readonly stats: EventSourceMappingStats = emptyStats();
  private readonly consumer: Consumer;
  private readonly kafkaConsumer: KafkaConsumer;
  private readonly producer: Producer | undefined;
  private readonly workers = new Map<number, { worker: PartitionWorker; running: Promise<void> }>();
  private readonly log: EventSourceLogger;
  private readonly now: () => number;
  private handler: MskHandler | undefined;
  private paused = new Set<number>();
  private state: 'idle' | 'running' | 'stopping' | 'stopped' | 'failed' = 'idle';
  /** Workers of partitions this member lost, finishing their in-flight batch. */
  private readonly retiring = new Map<number, Promise<void>>();

  constructor(private readonly options: EventSourceMappingOptions) {
    this.consumer = options.consumer;
    this.log = options.log ?? (() => undefined);
    this.now = options.now ?? Date.now;
    this.handler = options.handler;
    const settings = this.consumer.eventSource;
    this.kafkaConsumer = options.kafka.consumer({
      groupId: settings.consumerGroupId,
      allowAutoTopicCreation: false,
      // Handlers run outside kafkajs's fetch loop, so heartbeats never wait on a slow invocation and a
      // short session is safe: a crashed emulator's partitions move to its successor within seconds.
      sessionTimeout: 6_000,
      rebalanceTimeout: 30_000,
      heartbeatInterval: 1_000,
      // The broker answers a fetch as soon as data exists, or after this long when idle.
      maxWaitTimeInMs: Math.min(250, Math.max(10, settings.maximumBatchingWindowMs)),
      // Bounded, so a stop while the broker is gone cannot hang on commit retries.
      retry: { retries: 10, maxRetryTime: 5_000 },
    });
    this.producer = settings.onFailure ? orderedProducer(options.kafka) : undefined;
  }

  get name(): string {
    return this.consumer.name;
  }

  /** Whether it polls now: started and neither stopped nor failed (a disabled consumer's mapping is not). */
  get polling(): boolean {
    return this.state === 'running';
  }

  /** Joins the consumer group and starts polling; resolves once partitions are assigned. */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new EventSourceError(`Event source mapping "${this.name}" was already started; create a new one`);
    this.handler ??= loadHandler(this.consumer.handler);
    this.state = 'running';
    try {
      await this.connectAndSubscribe();
    } catch (error) {
      await this.kafkaConsumer.disconnect().catch(() => undefined);
      await this.producer?.disconnect().catch(() => undefined);
      this.state = 'stopped';
      throw error;
    }
  }

  private async connectAndSubscribe(): Promise<void> {
    const settings = this.consumer.eventSource;
    await this.checkTopicsExist();
    await this.producer?.connect();
    if (settings.startingPosition !== 'TRIM_HORIZON') await this.commitStartingOffsets();
    await this.kafkaConsumer.connect();
    const joined = new Promise<void>((resolve, reject) => {
      this.kafkaConsumer.on(this.kafkaConsumer.events.GROUP_JOIN, (event) => {
        this.onAssignment(event.payload.memberAssignment[this.consumer.topic.name] ?? []);
        resolve();
      });
      // A fetch of nothing but control records (commit markers) never reaches eachBatch: kafkajs only reports it here.
      this.kafkaConsumer.on(this.kafkaConsumer.events.START_BATCH_PROCESS, ({ payload }) => {
        if (this.state !== 'running' || payload.batchSize !== 0 || payload.topic !== this.consumer.topic.name) return;
        // A partition's first fetch may hold nothing else (an earlier run committed its records but not past the marker).
        this.workerFor(payload.partition).skipRecordless(Number(payload.lastOffset));
      });
      this.kafkaConsumer.on(this.kafkaConsumer.events.CRASH, (event) => {
        const { error, restart } = event.payload;
        this.stats.lastError = String(error);
        if (restart) {
          this.log('error', `${this.name}: the Kafka consumer crashed (${String(error)}); it restarts itself`);
          return;
        }
        this.log('error', `${this.name}: the Kafka consumer crashed for good (${String(error)}); the mapping stopped polling`);
        this.state = 'failed';
        reject(new EventSourceError(`Event source mapping "${this.name}" could not consume: ${String(error)}`, false, { cause: error }));
      });
    });
    await this.kafkaConsumer.subscribe({
      topics: [this.consumer.topic.name],
      fromBeginning: settings.startingPosition !== 'LATEST',
    });
    await this.kafkaConsumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload) => this.onFetched(payload),
    });
    await joined;
  }

  /** Lets in-flight batches finish (and commit), then leaves the group. Uncommitted records are re-delivered next time. */
  async stop(): Promise<void> {
    if (this.state !== 'running' && this.state !== 'failed') return;
    this.state = 'stopping';
    for (const { worker } of this.workers.values()) worker.stop();
    await Promise.all([...[...this.workers.values()].map(({ running }) => running), ...this.retiring.values()]);
    await this.kafkaConsumer.disconnect();
    await this.producer?.disconnect();
    this.state = 'stopped';
  }

  private async onFetched({ batch }: EachBatchPayload): Promise<void> {
    if (this.state !== 'running' || batch.messages.length === 0) return;
    const worker = this.workerFor(batch.partition);
    const records = batch.messages.map((message) => sourceRecordOfKafkaMessage(batch.topic, batch.partition, message));
    this.stats.recordsFetched += records.length;
    worker.enqueue(records);
    // A transaction's commit marker after the last record: committed past once the records are done.
    worker.skipRecordless(Number(batch.lastOffset()));
    // Backpressure: stop fetching a partition that is far ahead of its function.
    const settings = this.consumer.eventSource;
    if (worker.pendingRecords >= Math.max(2 * settings.batchSize, 1_000) || worker.pendingBytes >= 2 * this.maxPayloadBytes) {
      if (!this.paused.has(batch.partition)) this.stats.backpressurePauses += 1;
      this.paused.add(batch.partition);
      this.kafkaConsumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
    }
  }

  private workerFor(partition: number): PartitionWorker {
    const existing = this.workers.get(partition);
    if (existing) return existing.worker;
    const settings = this.consumer.eventSource;
    const topic = this.consumer.topic.name;
    const deadLetters =
      settings.onFailure && this.producer
        ? new KafkaDeadLetterPublisher(this.producer, settings.onFailure.topic, settings.consumerGroupId, this.now)
        : undefined;
    const worker = new PartitionWorker(
      {
        topic,
        partition,
        batchSize: settings.batchSize,
        maximumBatchingWindowMs: settings.maximumBatchingWindowMs,
        maxPayloadBytes: this.maxPayloadBytes,
        maximumRetryAttempts: effectiveMaximumRetryAttempts(settings),
        maximumRecordAgeSeconds: settings.maximumRecordAgeSeconds,
        bisectBatchOnFunctionError: settings.bisectBatchOnFunctionError,
        reportBatchItemFailures: settings.reportBatchItemFailures,
        retryDelayMs: this.options.retryDelayMs ?? defaultRetryDelay,
      },
      {
        invoke: (records) =>
          invokeHandler(this.handler!, buildMskEvent(records, this.identity()), {
            functionName: this.consumer.name,
            timeoutSeconds: this.consumer.timeoutSeconds,
            memorySizeMb: this.consumer.memorySizeMb,
            awsRegion: this.awsRegion,
          }),
        deadLetter: deadLetters ? (letters) => deadLetters.publish(letters) : undefined,
        commit: async (nextOffset) => {
          // A worker whose partition moved to another member must not commit: its offset could be behind the new owner's.
          if (this.workers.get(partition)?.worker !== worker) return;
          await this.kafkaConsumer.commitOffsets([{ topic, partition, offset: String(nextOffset) }]);
        },
        queueShrank: () => this.resumeIfDrained(partition),
        stats: this.stats,
        log: (level, message) => this.log(level, `${this.name} ${message}`),
        now: this.now,
      },
    );
    // A worker of this partition from before a rebalance may still finish a batch: one batch in flight, always.
    const previous = this.retiring.get(partition) ?? Promise.resolve();
    const running = previous.then(() => worker.run());
    this.workers.set(partition, { worker, running });
    return worker;
  }

  private resumeIfDrained(partition: number): void {
    const worker = this.workers.get(partition)?.worker;
    if (!worker || !this.paused.has(partition)) return;
    if (worker.pendingRecords <= this.consumer.eventSource.batchSize) {
      this.paused.delete(partition);
      this.kafkaConsumer.resume([{ topic: this.consumer.topic.name, partitions: [partition] }]);
    }
  }

  /** After a rebalance, partitions this member lost are dropped: their next owner re-reads from the last commit. */
  private onAssignment(assigned: readonly number[]): void {
    for (const [partition, { worker, running }] of this.workers) {
      if (assigned.includes(partition)) {
        worker.recommit();
      } else {
        worker.stop();
        const retired = running.finally(() => {
          if (this.retiring.get(partition) === retired) this.retiring.delete(partition);
        });
        this.retiring.set(partition, retired);
        this.workers.delete(partition);
        this.stats.partitions.delete(partition);
        // kafkajs keeps a pause across reassignment; a paused partition that came back would never be fetched.
        if (this.paused.delete(partition)) this.kafkaConsumer.resume([{ topic: this.consumer.topic.name, partitions: [partition] }]);
      }
    }
    for (const partition of assigned) {
      if (!this.stats.partitions.has(partition)) this.stats.partitions.set(partition, { committedOffset: undefined, queued: 0 });
    }
  }

  /** Auto-creation is off, so a missing topic would otherwise surface as an endless retry deep in kafkajs. */
  private async checkTopicsExist(): Promise<void> {
    const wanted = [this.consumer.topic.name, ...(this.consumer.eventSource.onFailure ? [this.consumer.eventSource.onFailure.topic] : [])];
    const admin = this.options.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = wanted.filter((topic) => !existing.has(topic));
      if (missing.length > 0) {
        throw new EventSourceError(
          `Event source mapping "${this.name}" needs topic(s) ${missing.map((topic) => `"${topic}"`).join(', ')}, ` +
            'which do not exist on the cluster; provision the pipeline first (runPipeline and npm start do)',
        );
      }
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Pins LATEST and AT_TIMESTAMP to offsets when the mapping first starts, as AWS
   * does when it creates a mapping: left to the Kafka client, "latest" would be
   * resolved at the first fetch and could skip records produced in between.
   * Only partitions the group has never committed are touched.
   */
  private async commitStartingOffsets(): Promise<void> {
    const topic = this.consumer.topic.name;
    const { consumerGroupId: groupId, startingPosition, startingPositionTimestampMs } = this.consumer.eventSource;
    const admin = this.options.kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const uncommitted = new Set((committed?.partitions ?? []).filter((p) => p.offset === '-1').map((p) => p.partition));
      if (uncommitted.size === 0) return;
      const offsets =
        startingPosition === 'AT_TIMESTAMP'
          ? await admin.fetchTopicOffsetsByTimestamp(topic, startingPositionTimestampMs)
          : (await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => ({ partition, offset: high }));
      const { members } = await admin.describeGroups([groupId]).then((described) => described.groups[0] ?? { members: [] });
      // Another instance already consumes this group; it owns the starting position.
      if (members.length > 0) return;
      await admin.setOffsets({
        groupId,
        topic,
        partitions: offsets.filter((p) => uncommitted.has(p.partition)).map(({ partition, offset }) => ({ partition, offset })),
      });
    } finally {
      await admin.disconnect();
    }
  }

  private identity() {
    return {
      eventSourceArn:
        this.options.eventSourceArn ??
        `arn:aws:kafka:${this.awsRegion}:000000000000:cluster/local/${this.consumer.eventSource.consumerGroupId}`,
      bootstrapServers: this.options.bootstrapServers,
    };
  }

  private get awsRegion(): string {
    return this.options.awsRegion ?? 'us-east-1';
  }

  private get maxPayloadBytes(): number {
    return this.options.maxPayloadBytes ?? EVENT_SOURCE_LIMITS.maxPayloadBytes;
  }
}
