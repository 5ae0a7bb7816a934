import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MskEvent } from '../../shared/msk';
import { runPipeline, type RunningPipeline } from '../../shared/local';
import type { Pipeline } from '../../shared/pipeline';
import { recordsOf } from '../../shared/msk';
import { CLI_PIPELINE, loadCliPipeline } from '../support/cli-fixture';
import { eventually, produce, uniqueName, useTestServices } from '../support/integration';
import { runPlatform } from '../support/run-platform';

describe('Replaying one consumer while the rest keeps running: platform mapping disable, replay, enable (integration)', () => {
  const services = useTestServices('mapping-switch-test');
  let pipeline: Pipeline;
  let running: RunningPipeline;
  let switches: string;
  const prefix = `${uniqueName('mapping')}.`;
  /** Offsets of the merchants records the merchant-directory consumer was invoked with, in order. */
  const seen: number[] = [];

  const platform = (args: readonly string[]) =>
    runPlatform([...args, '--pipeline', CLI_PIPELINE], { env: { ...process.env, CLI_TEST_PREFIX: prefix, LOCAL_MAPPINGS_DIR: switches } });

  beforeAll(async () => {
    switches = mkdtempSync(join(tmpdir(), 'mapping-switches-'));
    pipeline = loadCliPipeline(prefix);
    running = await runPipeline(services.runtime, pipeline, {
      mappingSwitchesDir: switches,
      // The fixture's joins and hot stream do nothing here; merchant-directory notes what it is given.
      handlers: Object.fromEntries(
        pipeline.consumers.map((consumer) => [
          consumer.name,
          consumer.name === 'merchant-directory'
            ? async (event: MskEvent) => {
                for (const record of recordsOf(event)) seen.push(record.offset);
              }
            : async () => undefined,
        ]),
      ),
    });
  });
  afterAll(async () => {
    await running.stop();
    rmSync(switches, { recursive: true, force: true });
  });

  it('stops only that consumer, lets it be replayed, and starts it again from the replayed offsets', async () => {
    // Prepare: three merchants consumed once.
    const merchantsTopic = pipeline.consumers.find((consumer) => consumer.name === 'merchant-directory')!.topic.name;
    await produce(
      services.kafka,
      merchantsTopic,
      [0, 1, 2].map((index) => ({ key: `m-${index}`, value: '{}', partition: 0 })),
    );
    await eventually('the consumer saw the three records', async () => seen.length === 3);
    const refusedWhileRunning = await platform(['replay', 'merchant-directory', '--from', 'earliest']);

    // Act
    const disabled = await platform(['mapping', 'disable', 'merchant-directory', '--json']);
    const listed = await platform(['mapping', 'list', '--json']);
    const replayed = await platform(['replay', 'merchant-directory', '--from', 'earliest']);
    const enabled = await platform(['mapping', 'enable', 'merchant-directory', '--json']);

    // Assess
    expect(refusedWhileRunning.code).toBe(1);
    expect(refusedWhileRunning.stderr).toMatch(/is running .*platform mapping disable merchant-directory/);
    expect([disabled.code, JSON.parse(disabled.stdout)]).toEqual([
      0,
      expect.objectContaining({ consumer: 'merchant-directory', enabled: false, members: 0 }),
    ]);
    expect(JSON.parse(listed.stdout)).toEqual(
      expect.arrayContaining([
        { consumer: 'merchant-directory', enabled: false },
        { consumer: `${prefix}prices`, enabled: true },
      ]),
    );
    expect(replayed.code).toBe(0);
    expect([enabled.code, JSON.parse(enabled.stdout)]).toEqual([
      0,
      expect.objectContaining({ enabled: true, members: expect.any(Number) }),
    ]);
    await eventually('the consumer saw the three records again', async () => seen.length === 6);
    expect(seen).toEqual([0, 1, 2, 0, 1, 2]);
    // The other consumers kept running throughout.
    const others = running.mappings.filter((mapping) => mapping.name !== 'merchant-directory');
    expect(others.map((mapping) => mapping.polling)).toEqual(others.map(() => true));
    expect(running.mappings.find((mapping) => mapping.name === 'merchant-directory')!.polling).toBe(true);
  });

  it('refuses mapping with --env: in AWS the event source mapping has its own flag', async () => {
    const refused = await platform(['mapping', 'disable', 'merchant-directory', '--env', 'dev']);

    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/aws lambda update-event-source-mapping/);
  });
});
