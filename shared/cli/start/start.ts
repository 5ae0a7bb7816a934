/**
 * `npm start`: runs the platform locally. Starts Kafka and DynamoDB (or uses
 * KAFKA_BROKERS / DYNAMODB_ENDPOINT), creates the pipeline's topics and tables,
 * runs every consumer through the MSK event-source emulator and shows live
 * progress until Ctrl-C.
 *
 *   npm start                                  the project's pipeline, with demo traffic
 *   npm start -- --pipeline ./my-pipeline.ts   your own pipeline module (default export)
 *   npm start -- --persist                     keep broker data and tables in .local/state (or LOCAL_PERSIST_DIR)
 *   npm start -- --no-demo                     no demo traffic
 *   npm start -- --items 200000                the demo catalog's size (also --merchants, --flyers, --ticks)
 *   npm start -- --ticks 0                     seed the demo catalog, then send nothing more
 */
import { join } from 'node:path';
import type { Pipeline } from '../../pipeline';
import type { ServiceDeath } from '../../local/child-process';
import { startLocalRuntime, type LocalRuntime } from '../../local/local-runtime';
import { LocalConfigError } from '../../local/errors';
import { ENVIRONMENT_VARIABLES, readLocalServicesConfig, readMappingSwitchesDir } from '../../local/config';
import { runPipeline, type RunningPipeline } from '../../local/run-pipeline';
import { startChangeDataCapture, type RunningChangeDataCapture } from '../../local/change-data-capture';
import { ensurePostgresInstalled } from '../../local/postgres/postgres-server';
import { assertPortFree } from '../../local/ports';
import { stopLeftoverCdcServices } from '../../local/leftover-services';
import { LOCAL_STATE_DIR } from '../../local/paths';
import { describeCdcSourceStatus } from '../../local/cdc-status';
import { catalog, type Catalog } from '../../../example';
import { topicRecordCount } from '../../kafka';
import { delay } from '../../local/child-process';
import { startConsole, type RunningConsole } from '../console/console-server';
import { runtimeAccess } from '../console/runtime-access';
import { captureKafkaJsConsole, RecentWarnings } from './recent-warnings';
import { startDemoTraffic } from './demo-traffic';
import { startPipelineFlows } from './pipeline-flows';
import { renderProgress } from './progress-view';
import { PERSIST_DIR_VARIABLE, readStartOptions, START_USAGE } from './start-options';

async function main(): Promise<void> {
  // The one place npm start reads its environment: parsed and validated here, handed down.
  const env = process.env;
  const options = readStartOptions(process.argv.slice(2), env);
  const config = readLocalServicesConfig(env);
  const mappingSwitchesDir = readMappingSwitchesDir(env);
  if (options.help) {
    console.log(START_USAGE);
    return;
  }
  const pipeline = loadPipeline(options.pipelinePath);

  // The AWS SDK warns on every start that its releases after early January 2027 need Node.js 22: harmless
  // for the versions this project pins (see "Local services" in the README). Its own switch silences
  // that warning and nothing else; a value the user set is kept.
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  const log = (line: string) => console.log(`[local] ${line}`);
  const warnings = new RecentWarnings();
  // The handlers' own Kafka clients log connection errors through kafkajs's console logger: into the view, collapsed.
  captureKafkaJsConsole((line) => warnings.add(line));
  if (options.persistDirUnused) log(`${PERSIST_DIR_VARIABLE} is set, but without --persist nothing is kept: it has no effect.`);
  const capturesChanges = pipeline.cdcSources.length > 0;
  if (capturesChanges) {
    // Before anything starts: a missing PostgreSQL or a busy port fails at once, not after the broker's start.
    await ensurePostgresInstalled(log);
    // Unless they are held by services an earlier, killed run of this checkout left behind: those are stopped.
    await stopLeftoverCdcServices(LOCAL_STATE_DIR, options.persistDir, log);
    await assertPortFree('PostgreSQL', '127.0.0.1', config.postgresPort, ENVIRONMENT_VARIABLES.postgresPort);
    await assertPortFree('the Kafka Connect worker', '127.0.0.1', config.connectPort, ENVIRONMENT_VARIABLES.connectPort);
  }
  // The console's port too: a busy one is named before anything starts, as the services' are.
  if (config.consolePort !== 0) await assertPortFree('the web console', '127.0.0.1', config.consolePort, ENVIRONMENT_VARIABLES.consolePort);
  log(`Starting local services for pipeline "${pipeline.name}"…`);
  if (options.persistDir !== undefined) log(`Keeping broker data and tables in ${options.persistDir} (--persist).`);
  const runtime = await startLocalRuntime({ config, log, ...(options.persistDir !== undefined ? { persistDir: options.persistDir } : {}) });
  let running: RunningPipeline | undefined;
  let cdc: RunningChangeDataCapture | undefined;
  let demo: { stop(): Promise<void> } | undefined;
  let flows: Awaited<ReturnType<typeof startPipelineFlows>> | undefined;
  let webConsole: RunningConsole | undefined;
  let consoleAccess: ReturnType<typeof runtimeAccess> | undefined;
  let view: NodeJS.Timeout | undefined;

  let stopping = false;
  let stoppingSince = 0;
  const shutdown = async (code: number, serviceDied = false) => {
    // One Ctrl-C can arrive twice at once (the terminal signals the group, and npm forwards it): only a later one forces.
    if (stopping && Date.now() - stoppingSince < 1_000) return;
    if (stopping) {
      // A second Ctrl-C: stop waiting for in-flight batches (they are re-delivered next time). The services'
      // keepers see this process go and stop them (and remove a temporary broker data dir).
      console.log('\n[local] Forced exit.');
      process.exit(130);
    }
    stopping = true;
    stoppingSince = Date.now();
    clearInterval(view);
    // The console first: its page says "not live" from here on, and nothing it serves outlives the services.
    await within(2_000, webConsole?.stop());
    consoleAccess?.close();
    // Never hang: each step is bounded, and so is the whole (the services stop with this process in any case).
    setTimeout(() => {
      console.error(`[local] Stopping took longer than ${SHUTDOWN_LIMIT_MS / 1000} s; exiting anyway.`);
      process.exit(code === 0 ? 1 : code);
    }, SHUTDOWN_LIMIT_MS).unref();
    if (serviceDied) {
      // With a service gone, in-flight batches cannot finish: give the clients a moment, not the full drain.
      await within(2_000, Promise.all([demo?.stop(), flows?.stop(), running?.stop()].map((stop) => stop?.catch(() => undefined))));
      await cdc?.stop({ killWorker: true }).catch(() => undefined);
    } else {
      console.log('\n[local] Shutting down: finishing in-flight batches, stopping services…');
      await within(DRAIN_LIMIT_MS, demo?.stop());
      // The Connect worker commits its source offsets on the way out, so it goes while the broker is up.
      await within(
        DRAIN_LIMIT_MS,
        cdc?.stop().catch((error: unknown) => console.error(`[local] ${String(error)}`)),
      );
      await within(DRAIN_LIMIT_MS, flows?.stop());
      await within(
        DRAIN_LIMIT_MS,
        running?.stop().catch((error: unknown) => console.error(error)),
      );
    }
    await runtime.stop().catch((error: unknown) => console.error(`[local] ${String(error)}`));
    console.log('[local] Stopped.');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  // The terminal closed: nobody is watching, stop the same way.
  process.on('SIGHUP', () => void shutdown(129));
  const onServiceDeath = (death: ServiceDeath) => {
    if (stopping) return;
    console.error(
      `\n[local] ${capitalised(death.service)} (pid ${death.pid}) ${death.description}; its log: ${death.logFile}. Stopping everything.`,
    );
    void shutdown(1, true);
  };
  void runtime.died.then(onServiceDeath);

  try {
    describeRuntime(runtime, pipeline);
    running = await runPipeline(runtime, pipeline, {
      // `platform mapping disable|enable <consumer>` stops and starts one consumer while the rest runs.
      mappingSwitchesDir,
      log: (level, message) => {
        if (level !== 'info') warnings.add(`${level.toUpperCase()} ${message}`);
      },
    });
    if (capturesChanges) {
      // After runPipeline: the connectors write the change topics it has created.
      cdc = await startChangeDataCapture(pipeline, {
        postgresPort: config.postgresPort,
        connectPort: config.connectPort,
        brokers: runtime.kafka.brokers,
        connectGroupId: `${pipeline.name}-connect`,
        stateDir: LOCAL_STATE_DIR,
        ...(options.persistDir !== undefined ? { postgresDataDir: join(options.persistDir, 'postgres') } : {}),
        log,
      });
      void cdc.died.then(onServiceDeath);
      describeChangeDataCapture(cdc);
    }
    if (options.usingDefaultPipeline && options.demo && cdc) {
      const { merchants, flyers, items, ticksPerSecond, seed } = options;
      const pipelineRunning = running;
      const rightConsumers = pipeline.joins.map(({ join }) => `${join.name}.right`);
      const merchantsTopic = catalog.merchantsFromMonolith.entityTopic;
      const referenceDataConsumed = async () => {
        // Bounded: a slow start only costs the joins some repeated work, never the demo. The merchants come
        // through change data capture first (connector, change topic, mapping), then the joins read them.
        const deadline = Date.now() + 60_000;
        await untilTopicHolds(runtime, merchantsTopic, merchants, deadline);
        for (; Date.now() < deadline; await delay(200)) {
          const lag = await pipelineRunning.lag().catch(() => undefined);
          if (lag && rightConsumers.every((name) => lag.get(name) === 0)) return;
        }
      };
      const monolith = await cdc.connectToSource(catalog.merchantsFromMonolith.source.name);
      // Should the connection drop while npm start stops (PostgreSQL goes before the demo is done), say so, not crash.
      monolith.on('error', (error) => warnings.add(`ERROR demo traffic: the monolith's database: ${error.message}`));
      // --persist keeps what is there: the catalog is seeded only into empty topics.
      const seedCatalog = options.persistDir === undefined || (await catalogIsEmpty(runtime, catalog));
      demo = await startDemoTraffic(
        runtime.kafkaClient('local-demo-traffic'),
        catalog,
        { merchants, flyers, items, ticksPerSecond, seed, referenceDataConsumed, seedCatalog, monolith },
        log,
      );
      const stopDemo = demo.stop;
      demo = { stop: () => stopDemo().finally(() => monolith.end().catch(() => undefined)) };
      log(
        ticksPerSecond === 0
          ? 'Demo traffic: none after the catalog (--ticks 0).'
          : `Demo traffic: ${ticksPerSecond} price/stock updates a second (Zipf-skewed), item and flyer changes, a merchant's row updated in the monolith every 5 s, deletes, and now and then a malformed record or row.`,
      );
    }
    flows = await startPipelineFlows(runtime.kafkaClient('local-view'), pipeline);
    const runningPipeline = running;
    const capture = cdc;
    consoleAccess = runtimeAccess(runtime, pipeline);
    webConsole = await startConsole({
      access: consoleAccess,
      live: {
        consumers: () => runningPipeline.mappings,
        lag: () => runningPipeline.lag(),
        ...(capture ? { captureStatuses: () => capture.statuses() } : {}),
      },
      port: config.consolePort,
    }).catch(async (error: unknown) => {
      // Taken since it was checked: named as a busy port is, with its holder and its variable.
      if ((error as { code?: unknown }).code === 'EADDRINUSE')
        await assertPortFree('the web console', '127.0.0.1', config.consolePort, ENVIRONMENT_VARIABLES.consolePort);
      throw error;
    });
    log(`Console: ${webConsole.url} (the pipeline, live; dead letters, state, explain)`);
    log('Running. Press Ctrl-C to stop.\n');
    const startedAt = Date.now();
    const refresh = async () => {
      if (!running || stopping) return;
      const lag = await running.lag().catch(() => new Map<string, number>());
      const flowLines = (await flows?.lines().catch(() => [])) ?? [];
      const captureLines = cdc ? (await cdc.statuses()).map((status) => `capture ${describeCdcSourceStatus(status)}`) : [];
      if (stopping) return;
      const text = renderProgress(
        running.mappings,
        lag,
        warnings.lines(),
        Date.now() - startedAt,
        [...captureLines, ...flowLines],
        webConsole?.url,
      );
      if (process.stdout.isTTY) process.stdout.write(`\x1b[2J\x1b[H${text}\n`);
      else console.log(text);
    };
    let refreshing = false;
    view = setInterval(
      () => {
        if (refreshing) return;
        refreshing = true;
        refresh()
          .catch((error: unknown) => warnings.add(`ERROR live view: ${String(error)}`))
          .finally(() => {
            refreshing = false;
          });
      },
      process.stdout.isTTY ? 1_000 : 10_000,
    );
  } catch (error) {
    if (stopping) return;
    console.error(`[local] ${error instanceof Error ? error.message : String(error)}`);
    await shutdown(1);
  }
}

/** How long Ctrl-C waits for in-flight batches, and for everything. */
const DRAIN_LIMIT_MS = 20_000;
const SHUTDOWN_LIMIT_MS = 45_000;

async function within(ms: number, work: Promise<unknown> | undefined): Promise<void> {
  if (work) await Promise.race([work.catch(() => undefined), delay(ms)]);
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Waits until a topic holds `count` records (compaction aside), or the deadline passes. */
async function untilTopicHolds(runtime: LocalRuntime, topic: string, count: number, deadline: number): Promise<void> {
  const admin = runtime.kafkaClient('local-demo-check').admin();
  await admin.connect();
  try {
    while (Date.now() < deadline && (await topicRecordCount(admin, topic).catch(() => 0)) < count) await delay(200);
  } finally {
    await admin.disconnect();
  }
}

/** Whether the demo catalog's topics hold nothing yet (a fresh --persist state). */
async function catalogIsEmpty(runtime: LocalRuntime, demoCatalog: Catalog): Promise<boolean> {
  const admin = runtime.kafkaClient('local-catalog-check').admin();
  await admin.connect();
  try {
    const topics = [demoCatalog.offers.rightTopic, demoCatalog.itemsWithFlyer.rightTopic, demoCatalog.itemsWithFlyer.leftTopic];
    const counts = await Promise.all(topics.map((topic) => topicRecordCount(admin, topic)));
    return counts.every((records) => records === 0);
  } finally {
    await admin.disconnect();
  }
}

function loadPipeline(path: string): Pipeline {
  const loaded = require(path) as { default?: Pipeline };
  if (!loaded.default || !Array.isArray(loaded.default.consumers)) {
    throw new LocalConfigError(`${path} must default-export the result of definePipeline({...})`);
  }
  return loaded.default;
}

function describeChangeDataCapture(cdc: RunningChangeDataCapture): void {
  console.log(`[local] PostgreSQL: 127.0.0.1:${cdc.postgres.port} (started here; user ${cdc.postgres.superuser}, no password)`);
  console.log(`[local] Connect:  ${cdc.worker.url} (started here)`);
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
