import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provisionTopics } from '../../../shared/local';
import { definePipeline } from '../../../shared/pipeline';
import { committedOffsets, eventually, NOOP_HANDLER_ENTRY, produce, uniqueName, useTestServices } from '../../support/integration';

const CONSUMER_SCRIPT = join(__dirname, '..', '..', 'fixtures', 'crashing-consumer.ts');

function startConsumerProcess(env: Record<string, string>): { child: ChildProcess; exited: Promise<NodeJS.Signals | number | null> } {
  const child = fork(CONSUMER_SCRIPT, [], {
    execArgv: ['-r', '@swc-node/register'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  return { child, exited };
}

function deliveredBatches(file: string): number[][] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as number[]);
}

describe('Class: EventSourceMapping — a crash mid-batch (integration)', () => {
  const services = useTestServices('crash-recovery-test');

  it('re-delivers the batch that was in flight when the process died, and skips nothing', async () => {
    // Prepare
    const topic = uniqueName('crash');
    const pipelineName = uniqueName('crash-pipeline');
    const groupId = `${pipelineName}.crashing`;
    await provisionTopics(
      services.admin,
      definePipeline({
        name: pipelineName,
        topics: [{ name: topic, kind: 'event', partitions: 1 }],
        consumers: [{ name: 'crashing', handler: { entry: NOOP_HANDLER_ENTRY }, topic }],
      }).topics,
    );
    await produce(
      services.kafka,
      topic,
      Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
    );
    const outFile = join(mkdtempSync(join(tmpdir(), 'crash-')), 'delivered.ndjson');
    const env = { SOURCE_TOPIC: topic, PIPELINE_NAME: pipelineName, OUT_FILE: outFile };

    // Act: the first process dies by SIGKILL while handling the batch holding offset 25.
    const crashing = startConsumerProcess({ ...env, CRASH_AT_OFFSET: '25' });
    expect(await crashing.exited).toBe('SIGKILL');
    const committedAfterCrash = (await committedOffsets(services.admin, groupId, topic)).get(0) ?? -1;
    const batchesBeforeRestart = deliveredBatches(outFile);
    const crashedBatch = batchesBeforeRestart.at(-1)!;

    // ...and a fresh process takes over.
    const restarted = startConsumerProcess(env);
    try {
      await eventually(
        'the restarted consumer committed every record',
        async () => (await committedOffsets(services.admin, groupId, topic)).get(0) === 50,
      );
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
    }

    // Assess
    expect(crashedBatch).toContain(25);
    expect(committedAfterCrash).toBeLessThanOrEqual(crashedBatch[0]!);
    const batches = deliveredBatches(outFile);
    const delivered = batches.flat();
    expect(new Set(delivered)).toEqual(new Set(Array.from({ length: 50 }, (_, i) => i)));
    const firstBatchAfterRestart = batches[batchesBeforeRestart.length]!;
    expect(firstBatchAfterRestart[0]).toBe(committedAfterCrash);
    for (const offset of crashedBatch) {
      expect(delivered.filter((seen) => seen === offset).length).toBeGreaterThanOrEqual(2);
    }
  });
});
