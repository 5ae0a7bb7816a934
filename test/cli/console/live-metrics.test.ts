import { join } from 'node:path';
import { LiveMetrics, type LiveSource } from '../../../shared/cli/console/live-metrics';
import type { EventSourceMappingStats } from '../../../shared/local/event-source';
import { definePipeline } from '../../../shared/pipeline';

const pipeline = definePipeline({
  name: 'live-unit',
  topics: [
    { name: 'orders', kind: 'entity', partitions: 2 },
    { name: 'orders.dlq', kind: 'dead-letter', partitions: 1 },
  ],
  consumers: [
    {
      name: 'audit',
      topic: 'orders',
      handler: { entry: join(__dirname, '..', '..', 'fixtures', 'noop-handler.ts') },
      eventSource: { onFailure: { kind: 'kafka', topic: 'orders.dlq' } },
    },
  ],
});

/** The counters of a consumer as the emulator keeps them, at a moment. */
function stats(succeeded: number, deadLettered = 0): EventSourceMappingStats {
  return {
    recordsFetched: succeeded,
    recordsSucceeded: succeeded,
    invocations: 1,
    failedInvocations: 0,
    recordsDeadLettered: deadLettered,
    recordsDiscarded: 0,
    lastError: undefined,
    backpressurePauses: 0,
    partitions: new Map(),
  };
}

describe('LiveMetrics: live numbers from counters, rates from one sample to the next', () => {
  let now = 0;
  let succeeded = 0;
  let ends: Record<string, number[]> = {};
  const source: LiveSource = {
    consumers: () => [{ name: 'audit', polling: true, stats: stats(succeeded) }],
    lag: async () => new Map([['audit', 3]]),
  };
  // The end offsets a broker would report; a topic missing here fails as a broker that does not answer would.
  const admin = {
    fetchTopicOffsets: async (topic: string) => {
      const highs = ends[topic];
      if (!highs) throw new Error(`no such topic ${topic}`);
      return highs.map((high, partition) => ({ partition, offset: String(high), high: String(high), low: '0' }));
    },
  };
  const metrics = () => new LiveMetrics(pipeline, source, admin, () => now);

  beforeEach(() => {
    now = 1_767_225_600_000;
    succeeded = 0;
    ends = { orders: [0, 0], 'orders.dlq': [0] };
  });

  it('reports zero rates on the first sample, then records a second over the time between samples', async () => {
    const live = metrics();
    succeeded = 10;
    ends.orders = [6, 4];
    const first = await live.sample();
    now += 2_000;
    succeeded = 30;
    ends.orders = [16, 14];

    const second = await live.sample();

    expect(first.consumers.audit).toMatchObject({ succeeded: 10, perSecond: 0, lag: 3, state: 'polling' });
    expect(first.topics.orders).toEqual({ records: 10, perSecond: 0 });
    expect(second.consumers.audit).toMatchObject({ succeeded: 30, perSecond: 10 });
    expect(second.topics.orders).toEqual({ records: 30, perSecond: 10 });
    expect(second.at).toBe(new Date(now).toISOString());
  });

  it('reports what it could not read, and the rest of the sample still', async () => {
    delete ends['orders.dlq'];

    const sample = await metrics().sample();

    expect(sample.problems).toEqual(['topic orders.dlq: Error: no such topic orders.dlq']);
    expect(sample.topics.orders).toEqual({ records: 0, perSecond: 0 });
    expect(sample.consumers.audit?.lag).toBe(3);
  });
});
