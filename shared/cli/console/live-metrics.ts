import type { Admin } from 'kafkajs';
import type { CdcSourceStatus } from '../../local/cdc-status';
import type { EventSourceMappingStats } from '../../local/event-source';
import { topicRecordCount } from '../../kafka';
import type { Pipeline } from '../../pipeline';
import { explainFailure } from '../explain-failure';

/** Where the console's live numbers come from: the running consumers (the emulator's mappings), their lag, the connectors. */
export interface LiveSource {
  consumers(): ReadonlyArray<{ readonly name: string; readonly polling: boolean; readonly stats: EventSourceMappingStats }>;
  /** Per consumer: records its group has not committed yet. */
  lag(): Promise<ReadonlyMap<string, number>>;
  /** The CDC connectors' states, when the pipeline captures changes. */
  captureStatuses?(): Promise<readonly CdcSourceStatus[]>;
}

export interface ConsumerLive {
  readonly state: 'polling' | 'stopped';
  /** Null when the lag could not be read. */
  readonly lag: number | null;
  readonly succeeded: number;
  /** Records handled a second, over the last sampling interval. */
  readonly perSecond: number;
  readonly invocations: number;
  readonly failedInvocations: number;
  readonly deadLettered: number;
  readonly lastError: string | null;
}

export interface LiveSnapshot {
  readonly at: string;
  readonly consumers: Readonly<Record<string, ConsumerLive>>;
  /** Per topic: records written so far (the partitions' end offsets, summed) and records a second. */
  readonly topics: Readonly<Record<string, { readonly records: number; readonly perSecond: number }>>;
  readonly captures: readonly CdcSourceStatus[];
  /** What could not be read this time (the broker down, say), shown to the user rather than hidden. */
  readonly problems: readonly string[];
}

/**
 * Samples the live numbers and turns counters into rates: each sample is
 * compared with the one before it. The first sample's rates are 0.
 */
export class LiveMetrics {
  private previous: { at: number; succeeded: Map<string, number>; records: Map<string, number> } | undefined;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly source: LiveSource,
    private readonly admin: Pick<Admin, 'fetchTopicOffsets'>,
    private readonly now: () => number = Date.now,
  ) {}

  async sample(): Promise<LiveSnapshot> {
    const problems: string[] = [];
    const at = this.now();
    const lag = await this.source.lag().catch((error: unknown) => {
      problems.push(`lag: ${explainFailure(error)}`);
      return new Map<string, number>();
    });
    const records = new Map<string, number>();
    await Promise.all(
      this.pipeline.topics.map(async (topic) => {
        try {
          records.set(topic.name, await topicRecordCount(this.admin, topic.name));
        } catch (error) {
          problems.push(`topic ${topic.name}: ${explainFailure(error)}`);
        }
      }),
    );
    const captures = this.source.captureStatuses
      ? await this.source.captureStatuses().catch((error: unknown) => {
          problems.push(`capture: ${explainFailure(error)}`);
          return [];
        })
      : [];
    const previous = this.previous;
    const seconds = previous ? Math.max(0.001, (at - previous.at) / 1000) : 1;
    const rate = (now: number, before: number | undefined) => (before === undefined ? 0 : Math.max(0, (now - before) / seconds));
    const consumers: Record<string, ConsumerLive> = {};
    const succeeded = new Map<string, number>();
    for (const consumer of this.source.consumers()) {
      const stats = consumer.stats;
      succeeded.set(consumer.name, stats.recordsSucceeded);
      consumers[consumer.name] = {
        state: consumer.polling ? 'polling' : 'stopped',
        lag: lag.get(consumer.name) ?? null,
        succeeded: stats.recordsSucceeded,
        perSecond: round(rate(stats.recordsSucceeded, previous?.succeeded.get(consumer.name))),
        invocations: stats.invocations,
        failedInvocations: stats.failedInvocations,
        deadLettered: stats.recordsDeadLettered,
        lastError: stats.lastError ?? null,
      };
    }
    const topics: Record<string, { records: number; perSecond: number }> = {};
    for (const [name, count] of records) topics[name] = { records: count, perSecond: round(rate(count, previous?.records.get(name))) };
    this.previous = { at, succeeded, records };
    return { at: new Date(at).toISOString(), consumers, topics, captures, problems };
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
