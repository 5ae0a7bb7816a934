/**
 * `npm start`: runs the platform locally. Starts Kafka and DynamoDB (or uses
 * KAFKA_BROKERS / DYNAMODB_ENDPOINT), creates the pipeline's topics and tables,
 * runs every consumer through the MSK event-source emulator and shows live
 * progress until Ctrl-C.
 *
 *   npm start                                  the project's pipeline, with demo traffic
 *   npm start -- --pipeline ./my-pipeline.ts   your own pipeline module (default export)
 *   npm start -- --persist                     keep broker data and tables in .local/state
 *   npm start -- --no-demo                     no demo traffic
 *   npm start -- --items 200000                the demo catalog's size (also --merchants, --flyers, --ticks)
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Pipeline } from '../../pipeline';
import { startLocalRuntime, type LocalRuntime } from '../local-runtime';
import { LocalConfigError } from '../errors';
import { LOCAL_STATE_DIR, PROJECT_ROOT } from '../paths';
import { runPipeline, type RunningPipeline } from '../run-pipeline';
import { catalog } from '../../catalog';
import { startDemoTraffic } from './demo-traffic';
import { startPipelineFlows } from './pipeline-flows';
import { renderProgress } from './progress-view';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pipeline: { type: 'string' },
      persist: { type: 'boolean', default: false },
      'no-demo': { type: 'boolean', default: false },
      merchants: { type: 'string', default: '50' },
      flyers: { type: 'string', default: '500' },
      items: { type: 'string', default: '5000' },
      ticks: { type: 'string', default: '300' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(
      'Usage: npm start [-- --pipeline <module.ts>] [--persist] [--no-demo] [--merchants 50] [--flyers 500] [--items 5000] [--ticks 300 (price/stock updates a second)] [--seed 1]',
    );
    return;
  }
  // npm runs scripts from the package root; a relative --pipeline is meant from where the user typed it.
  const pipelinePath = values.pipeline
    ? resolve(process.env['INIT_CWD'] ?? process.cwd(), values.pipeline)
    : resolve(PROJECT_ROOT, 'pipeline.ts');
  const usingDefaultPipeline = values.pipeline === undefined;
  const pipeline = loadPipeline(pipelinePath);

  const log = (line: string) => console.log(`[local] ${line}`);
  log(`Starting local services for pipeline "${pipeline.name}"…`);
  const runtime = await startLocalRuntime({ log, ...(values.persist ? { persistDir: resolve(LOCAL_STATE_DIR, 'state') } : {}) });
  let running: RunningPipeline | undefined;
  let demo: { stop(): Promise<void> } | undefined;
  let flows: Awaited<ReturnType<typeof startPipelineFlows>> | undefined;
  let view: NodeJS.Timeout | undefined;

  let stopping = false;
  let stoppingSince = 0;
  const shutdown = async (code: number) => {
    // One Ctrl-C can arrive twice at once (the terminal signals the group, and npm forwards it): only a later one forces.
    if (stopping && Date.now() - stoppingSince < 1_000) return;
    if (stopping) {
      // A second Ctrl-C: stop waiting for in-flight batches (they are re-delivered next time).
      console.log('\n[local] Forced exit.');
      await runtime.stop().catch(() => undefined);
      process.exit(130);
    }
    stopping = true;
    stoppingSince = Date.now();
    clearInterval(view);
    console.log('\n[local] Shutting down: finishing in-flight batches, stopping services…');
    await demo?.stop().catch(() => undefined);
    await flows?.stop().catch(() => undefined);
    await running?.stop().catch((error: unknown) => console.error(error));
    await runtime.stop();
    console.log('[local] Stopped.');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    describeRuntime(runtime, pipeline);
    const recentWarnings: string[] = [];
    running = await runPipeline(runtime, pipeline, {
      log: (level, message) => {
        if (level === 'info') return;
        recentWarnings.push(`${level.toUpperCase()} ${message}`);
        if (recentWarnings.length > 5) recentWarnings.shift();
      },
    });
    if (usingDefaultPipeline && !values['no-demo']) {
      const size = { merchants: count(values.merchants, 'merchants'), flyers: count(values.flyers, 'flyers'), items: count(values.items, 'items') };
      const ticksPerSecond = count(values.ticks, 'ticks');
      const pipelineRunning = running;
      const rightConsumers = pipeline.joins.map(({ join }) => `${join.name}.right`);
      const referenceDataConsumed = async () => {
        // Bounded: a slow start only costs the joins some repeated work, never the demo.
        for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
          const lag = await pipelineRunning.lag().catch(() => undefined);
          if (lag && rightConsumers.every((name) => lag.get(name) === 0)) return;
        }
      };
      demo = await startDemoTraffic(runtime.kafkaClient('local-demo-traffic'), catalog, { ...size, ticksPerSecond, seed: count(values.seed, 'seed'), referenceDataConsumed }, log);
      log(`Demo traffic: ${ticksPerSecond} price/stock updates a second (Zipf-skewed), item and flyer changes, deletes, and now and then a malformed record.`);
    }
    flows = await startPipelineFlows(runtime.kafkaClient('local-view'), pipeline);
    log('Running. Press Ctrl-C to stop.\n');
    const startedAt = Date.now();
    const refresh = async () => {
      if (!running || stopping) return;
      const lag = await running.lag().catch(() => new Map<string, number>());
      const flowLines = (await flows?.lines().catch(() => [])) ?? [];
      const text = renderProgress(running.mappings, lag, recentWarnings, Date.now() - startedAt, flowLines);
      if (process.stdout.isTTY) process.stdout.write(`\x1b[2J\x1b[H${text}\n`);
      else console.log(text);
    };
    let refreshing = false;
    view = setInterval(() => {
      if (refreshing) return;
      refreshing = true;
      refresh()
        .catch((error: unknown) => recentWarnings.push(`ERROR live view: ${String(error)}`))
        .finally(() => {
          refreshing = false;
        });
    }, process.stdout.isTTY ? 1_000 : 10_000);
  } catch (error) {
    console.error(`[local] ${error instanceof Error ? error.message : String(error)}`);
    await shutdown(1);
  }
}

function count(value: string | undefined, flag: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new LocalConfigError(`--${flag} must be a whole number ≥ 1, got "${value}"`);
  return parsed;
}

function loadPipeline(path: string): Pipeline {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(path) as { default?: Pipeline };
  if (!loaded.default || !Array.isArray(loaded.default.consumers)) {
    throw new LocalConfigError(`${path} must default-export the result of definePipeline({...})`);
  }
  return loaded.default;
}

function describeRuntime(runtime: LocalRuntime, pipeline: Pipeline): void {
  const origin = (managed: boolean) => (managed ? 'started here' : 'yours');
  console.log(`[local] Kafka:    ${runtime.kafka.brokers.join(',')} (${origin(runtime.kafka.managed)})`);
  console.log(`[local] DynamoDB: ${runtime.dynamodb.endpoint} (${origin(runtime.dynamodb.managed)})`);
  console.log(`[local] Topics:   ${pipeline.topics.map((topic) => `${topic.name}×${topic.partitions}`).join(', ')}`);
  console.log(`[local] Tables:   ${pipeline.tables.map((table) => table.name).join(', ') || '(none)'}`);
}

main().catch((error: unknown) => {
  console.error(`[local] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
