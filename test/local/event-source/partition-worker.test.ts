import fc from 'fast-check';
import type { DeadLetter } from '../../../shared/dead-letter';
import type { InvocationOutcome } from '../../../shared/local/event-source';
import type { SourceRecord } from '../../../shared/msk';
import { buildMskEvent } from '../../../shared/msk';
import { invokeHandler } from '../../../shared/local/event-source';
import { PartitionWorker, type PartitionWorkerSettings } from '../../../shared/local/event-source/partition-worker';
import { emptyStats } from '../../../shared/local/event-source/stats';

function record(offset: number): SourceRecord {
  return {
    topic: 't',
    partition: 0,
    offset,
    timestamp: Date.now(),
    timestampType: 'CREATE_TIME',
    key: null,
    value: Buffer.from(`v${offset}`),
    headers: [],
  };
}

const settings: PartitionWorkerSettings = {
  topic: 't',
  partition: 0,
  batchSize: 10,
  maximumBatchingWindowMs: 0,
  maxPayloadBytes: 6 * 1024 * 1024,
  maximumRetryAttempts: -1,
  maximumRecordAgeSeconds: -1,
  bisectBatchOnFunctionError: false,
  reportBatchItemFailures: false,
  retryDelayMs: () => 0,
};

/** A worker whose collaborators are scripted, so each rule can be observed step by step. */
function harness(
  overrides: Partial<PartitionWorkerSettings>,
  invoke: (offsets: number[]) => InvocationOutcome | Promise<InvocationOutcome>,
) {
  const invocations: number[][] = [];
  const commits: number[] = [];
  const deadLetters: DeadLetter[] = [];
  let failCommits = 0;
  const worker = new PartitionWorker(
    { ...settings, ...overrides },
    {
      invoke: async (records) => {
        const offsets = records.map((r) => r.offset);
        invocations.push(offsets);
        return invoke(offsets);
      },
      deadLetter: async (letters) => {
        deadLetters.push(...letters);
      },
      commit: async (offset) => {
        if (failCommits > 0) {
          failCommits -= 1;
          throw new Error('REBALANCE_IN_PROGRESS');
        }
        commits.push(offset);
      },
      queueShrank: () => undefined,
      stats: emptyStats(),
      log: () => undefined,
      now: Date.now,
    },
  );
  const running = worker.run();
  return {
    worker,
    invocations,
    commits,
    deadLetters,
    failNextCommits: (count: number) => {
      failCommits = count;
    },
    async finish() {
      worker.stop();
      await running;
    },
  };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 400 && !check(); i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!check()) throw new Error('condition not reached');
};
const failure = (): InvocationOutcome => ({ kind: 'error', error: new Error('boom') });
const success = (): InvocationOutcome => ({ kind: 'success', response: undefined });

describe('Class: PartitionWorker', () => {
  it('does not cut a retry pause short when new records arrive', async () => {
    // Prepare: the first invocation fails and the pause before the retry is long.
    const h = harness({ retryDelayMs: () => 60_000 }, failure);
    h.worker.enqueue([record(0)]);
    await until(() => h.invocations.length === 1);

    // Act
    h.worker.enqueue([record(1)]);
    h.worker.enqueue([record(2)]);
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Assess
    expect(h.invocations).toEqual([[0]]);
    await h.finish();
  });

  it('starts the retry back-off afresh for the next batch after giving up on one', async () => {
    // Prepare
    const attempts: number[] = [];
    const h = harness(
      {
        maximumRetryAttempts: 1,
        batchSize: 1,
        retryDelayMs: (attempt) => {
          attempts.push(attempt);
          return 0;
        },
      },
      failure,
    );

    // Act
    h.worker.enqueue([record(0), record(1)]);
    await until(() => h.deadLetters.length === 2);

    // Assess: each record was tried twice, and each one's single retry was the first of its own.
    expect(h.invocations).toEqual([[0], [0], [1], [1]]);
    expect(attempts).toEqual([1, 1]);
    await h.finish();
  });

  it('retries a commit the broker refused, without waiting for new records', async () => {
    // Prepare
    const h = harness({}, success);
    h.failNextCommits(1);

    // Act
    h.worker.enqueue([record(0), record(1), record(2)]);

    // Assess
    await until(() => h.commits.length === 1);
    expect(h.commits).toEqual([3]);
    expect(h.invocations).toEqual([[0, 1, 2]]);
    await h.finish();
  });

  it('commits every batch even when the next batch finishes just as the previous commit lands', async () => {
    // Prepare: one record per batch, with an instant function and instant commits.
    const h = harness({ batchSize: 1 }, success);

    // Act
    h.worker.enqueue(Array.from({ length: 20 }, (_, offset) => record(offset)));

    // Assess
    await until(() => h.commits.at(-1) === 20);
    expect(h.invocations).toHaveLength(20);
    await h.finish();
  });

  it('waits for a timed-out handler that is still running before it retries the batch', async () => {
    // Prepare: the first invocation outlives its 0.1 s timeout by 0.05 s (within the grace period of one more timeout).
    let running = 0;
    let overlapped = false;
    let calls = 0;
    const slowThenFast = async () => {
      calls += 1;
      if (running > 0) overlapped = true;
      running += 1;
      try {
        if (calls === 1) await new Promise((resolve) => setTimeout(resolve, 150));
      } finally {
        running -= 1;
      }
    };
    const commits: number[] = [];
    const worker = new PartitionWorker(settings, {
      invoke: (records) =>
        invokeHandler(slowThenFast, buildMskEvent(records, { eventSourceArn: 'arn', bootstrapServers: [] }), {
          functionName: 'fn',
          timeoutSeconds: 0.1,
          memorySizeMb: 128,
          awsRegion: 'us-east-1',
        }),
      deadLetter: undefined,
      commit: async (offset) => void commits.push(offset),
      queueShrank: () => undefined,
      stats: emptyStats(),
      log: () => undefined,
      now: Date.now,
    });
    const run = worker.run();

    // Act
    worker.enqueue([record(0)]);
    await until(() => commits.length === 1);

    // Assess
    expect(calls).toBe(2);
    expect(overlapped).toBe(false);
    worker.stop();
    await run;
  });

  it('ignores records at or below the last offset it queued, as a re-fetch after a rebalance delivers', async () => {
    const h = harness({}, success);

    h.worker.enqueue([record(0), record(1)]);
    await until(() => h.commits.length === 1);
    h.worker.enqueue([record(0), record(1), record(2)]);
    await until(() => h.commits.length === 2);

    expect(h.invocations).toEqual([[0, 1], [2]]);
    expect(h.commits).toEqual([2, 3]);
    await h.finish();
  });

  it('dead-letters a batch after its retries and commits past it', async () => {
    const h = harness({ maximumRetryAttempts: 2 }, (offsets) => (offsets.includes(1) ? failure() : success()));

    h.worker.enqueue([record(0), record(1)]);
    await until(() => h.commits.length === 1);

    expect(h.invocations).toEqual([
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
    expect(h.deadLetters.map((letter) => [letter.record.offset, letter.reason, letter.attempts])).toEqual([
      [0, 'RetryAttemptsExhausted', 3],
      [1, 'RetryAttemptsExhausted', 3],
    ]);
    expect(h.deadLetters[0]?.error).toBe('Error: boom');
    expect(h.commits).toEqual([2]);
    await h.finish();
  });

  describe('past the commit markers of transactions (skipRecordless)', () => {
    it('commits past markers only once every record before them is done', async () => {
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const h = harness({}, async () => {
        await held;
        return success();
      });

      h.worker.enqueue([record(0), record(1)]);
      h.worker.skipRecordless(2);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(h.commits).toEqual([]);

      release();
      await until(() => h.commits.length === 1);
      expect(h.commits).toEqual([3]);
      await h.finish();
    });

    it('never commits past a failing record while markers wait behind it', async () => {
      let failing = true;
      const h = harness({ retryDelayMs: () => 5 }, () => (failing ? failure() : success()));

      h.worker.enqueue([record(0)]);
      h.worker.skipRecordless(1);
      await until(() => h.invocations.length >= 3);
      expect(h.commits).toEqual([]);

      failing = false;
      await until(() => h.commits.length === 1);
      expect(h.commits).toEqual([2]);
      await h.finish();
    });

    it('moves past a marker fetched on its own once its records are committed', async () => {
      const h = harness({}, success);

      h.worker.enqueue([record(0)]);
      await until(() => h.commits.length === 1);
      h.worker.skipRecordless(1);
      await until(() => h.commits.length === 2);

      expect(h.commits).toEqual([1, 2]);
      await h.finish();
    });

    it('ignores a marker at or below a record it queued', async () => {
      const h = harness({}, success);

      h.worker.skipRecordless(3);
      h.worker.enqueue([record(5)]);
      h.worker.skipRecordless(4);
      await until(() => h.commits.length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 30));

      expect(h.commits.at(-1)).toBe(6);
      await h.finish();
    });

    it('commits only past records that succeeded, whatever the interleaving of records, markers and failures', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ records: fc.integer({ min: 0, max: 4 }), markers: fc.integer({ min: 0, max: 2 }) }), {
            minLength: 1,
            maxLength: 8,
          }),
          fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }),
          fc.integer({ min: 1, max: 4 }),
          async (segments, failures, batchSize) => {
            let invocation = 0;
            const succeeded = new Set<number>();
            const h = harness({ batchSize }, (offsets) => {
              const fails = failures[invocation++ % failures.length] && invocation < 40;
              if (!fails) for (const offset of offsets) succeeded.add(offset);
              return fails ? failure() : success();
            });
            let next = 0;
            let lastRecord = -1;
            for (const { records, markers } of segments) {
              if (records > 0) {
                h.worker.enqueue(Array.from({ length: records }, (_, index) => record(next + index)));
                next += records;
                lastRecord = next - 1;
              }
              if (markers > 0) {
                next += markers;
                h.worker.skipRecordless(next - 1);
              }
              await new Promise((resolve) => setImmediate(resolve));
            }
            // Every record is eventually done, so the commit reaches past the last offset fetched, markers included.
            await until(() => (h.commits.at(-1) ?? 0) === Math.max(next, 0) || (next === 0 && h.commits.length === 0));
            for (const commit of h.commits) {
              for (let offset = 0; offset < commit; offset += 1) {
                // An offset below a commit is a record that succeeded, or a marker (no record there).
                const isRecord = offset <= lastRecord && segmentsHoldRecord(segments, offset);
                if (isRecord) expect(succeeded.has(offset)).toBe(true);
              }
            }
            await h.finish();
          },
        ),
        { numRuns: 40 },
      );
    });
  });
});

/** Whether an offset of the property's layout (records, then markers, per segment) holds a record. */
function segmentsHoldRecord(segments: ReadonlyArray<{ records: number; markers: number }>, offset: number): boolean {
  let at = 0;
  for (const { records, markers } of segments) {
    if (offset < at + records) return true;
    at += records;
    if (offset < at + markers) return false;
    at += markers;
  }
  return false;
}
