/**
 * `npm run bench -- fk-join`: what the foreign-key join costs, measured, and
 * side by side with Kafka Streams' own FK join on the same broker and records.
 *
 *  1. Requests and read/write units per left update (new key, FK unchanged, FK
 *     changed) and per fan-out result, at batch sizes 1, 100 and 500 with
 *     200-byte and 2 KB values (the processor driven directly).
 *  2. The join's own request mix on the local DynamoDB server: CPU ms per request
 *     and requests/s over ≥ 5 warm windows (the yardstick).
 *  3. Rounds, alternated A B A B, inner and left: the platform (runner process +
 *     local DynamoDB server) and Kafka Streams (its JVM), per phase CPU ms per
 *     result, results/s, and whether both end with the same, correct outputs.
 *  4. A plain kafkajs consume → produce of the left-load records (the floor).
 *  5. Where the platform's CPU goes (a --cpu-prof of one round), and what
 *     dynamodb-toolbox would cost per request.
 *  6. $ per million events at DynamoDB on-demand prices.
 * Writes the headline figures to .local/bench/fk-join.json. Nothing here passes or fails.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { JoinStateStore, type JoinType } from '../../shared/fk-join';
import { LOCAL_STATE_DIR, provisionTables } from '../../shared/local';
import { uniqueName } from '../support/integration';
import { measurePassThrough, measureRequestMix, startBenchRuntime } from './bench-runtime';
import { dollarsPerMillion } from './cost';
import { measureRequestCosts, type RequestCosts, type Units } from './fk-join/request-costs';
import { PHASES, profileShares, runRound, sameOutputs, type RoundMeasurement, type Side } from './fk-join/side-by-side';
import { measureToolboxCost } from './fk-join/toolbox-cost';
import { benchJoin as joinDeclaration, benchPipeline, phaseRecords } from './fk-join/workload';
import { descendantProcessIds, formatSpread, spreadOf } from './measure';

const ROUNDS = Number(process.env.BENCH_JOIN_ROUNDS ?? 3);
const TYPES: JoinType[] = ['left', 'inner'];
const RESULT_FILE = join(LOCAL_STATE_DIR, 'bench', 'fk-join.json');

export async function benchJoin(): Promise<void> {
  const runtime = await startBenchRuntime();
  const log = (line: string) => console.log(`  ${line}`);
  try {
    const dynamoDbPids = descendantProcessIds().filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dynalite');
      } catch {
        return false;
      }
    });
    const kafka = runtime.kafkaClient('bench-join');

    // 1. Requests and units per event.
    console.log('\n1. DynamoDB requests and units per event (the processor driven directly, 1,000 left rows over 50 right rows, skewed)');
    const costs: RequestCosts[] = [];
    for (const batchSize of [1, 100, 500])
      for (const valueBytes of [200, 2048]) costs.push(await measureRequestCosts(runtime.dynamoDbClient(), 'left', batchSize, valueBytes));
    costs.push(await measureRequestCosts(runtime.dynamoDbClient(), 'inner', 500, 200));
    const unitsText = (units: Units) =>
      `${units.requests} (${units.readRequests} r + ${units.writeRequests} w) · ${units.rru} RRU · ${units.wru} WRU`;
    console.table(
      costs.map((cost) => ({
        join: cost.type,
        batch: cost.batchSize,
        value: `${cost.valueBytes} B`,
        'new left key': unitsText(cost.leftInsert),
        'left update, FK unchanged': unitsText(cost.fkUnchanged),
        'left update, FK changed': unitsText(cost.fkChanged),
        'fan-out result': unitsText(cost.fanOutResult),
        'right update (own row)': unitsText(cost.rightUpdate),
      })),
    );
    console.log(
      '  requests (reads + writes) · read and write request units, per event. A fan-out result is what the fan-out cost beyond the same right updates of unsubscribed keys.',
    );
    const headline = costs.find((cost) => cost.type === 'left' && cost.batchSize === 500 && cost.valueBytes === 200)!;

    // 2. The yardstick: the join's own mix (one conditional put per left update, one BatchGetItem per 100).
    const yardstickTable = benchPipeline(joinDeclaration(uniqueName('yardstick'), 'left')).joins[0]!.table;
    await provisionTables(runtime.dynamoDbClient(), [yardstickTable]);
    const documents = DynamoDBDocumentClient.from(runtime.dynamoDbClient());
    const store = new JoinStateStore(documents, yardstickTable.name);
    const mix = await measureRequestMix({
      windows: 5,
      processes: dynamoDbPids,
      request: async (worker, n) => {
        const leftKey = `y-${worker}-${n}`;
        await store.replaceLeftRow(
          { leftKey, leftOffset: n, foreignKey: 'f1', value: Buffer.alloc(200, 120), subscribedAt: n, outputRightOffset: 0, emitted: true },
          undefined,
        );
        if (n % 100 !== 99) return 1;
        await store.readLeftRows(
          Array.from({ length: 100 }, (_, k) => `y-${worker}-${n - k}`),
          false,
        );
        return 2;
      },
    });
    documents.destroy();
    console.log(
      `\n2. Yardstick, the join's request mix on the local DynamoDB server (5 windows of 1 s): ${mix.cpuMsPerRequest.toFixed(3)} (${mix.minCpuMsPerRequest.toFixed(3)}–${mix.maxCpuMsPerRequest.toFixed(3)}) CPU ms per request (client + server), ${Math.round(mix.medianPerSecond)} (${Math.round(mix.minPerSecond)}–${Math.round(mix.maxPerSecond)}) requests/s.`,
    );

    // 3. Side by side, alternated.
    const phases = phaseRecords();
    console.log(
      `\n3. Side by side with Kafka Streams (${phases.leftLoad.length} left rows over ${phases.rightLoad.length} right rows; ${ROUNDS} rounds per side and join type, alternated)`,
    );
    const rounds: RoundMeasurement[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const type of TYPES) {
        const order: Side[] = round % 2 === 0 ? ['platform', 'kafkaStreams'] : ['kafkaStreams', 'platform'];
        for (const side of order) {
          const measured = await runRound(side, type, { runtime, kafka, phases, dynamoDbPids, log });
          rounds.push(measured);
          const left = measured.phases.leftLoad;
          log(
            `round ${round + 1} ${type} ${side}: left load ${(left.cpuMs / left.results).toFixed(3)} CPU ms/result, ${Math.round(left.results / left.seconds)} results/s; final outputs ${measured.finalOutputsCorrect ? 'correct' : 'WRONG'}`,
          );
        }
      }
    }
    const pick = (side: Side, type: JoinType, phase: (typeof PHASES)[number], of: 'cpu' | 'own cpu' | 'rate') =>
      spreadOf(
        rounds
          .filter((round) => round.side === side && round.type === type)
          .map(({ phases: measured }) => {
            const { cpuMs, ownCpuMs, results, seconds } = measured[phase];
            return of === 'cpu' ? cpuMs / results : of === 'own cpu' ? ownCpuMs / results : results / seconds;
          }),
      );
    const rows = TYPES.flatMap((type) =>
      PHASES.map((phase) => {
        const platformCpu = pick('platform', type, phase, 'cpu');
        const streamsCpu = pick('kafkaStreams', type, phase, 'cpu');
        return {
          join: type,
          phase,
          'platform CPU ms/result': formatSpread(platformCpu, 3),
          '(of which the runner)': formatSpread(pick('platform', type, phase, 'own cpu'), 3),
          'Kafka Streams CPU ms/result': formatSpread(streamsCpu, 3),
          ratio: `${(platformCpu.median / streamsCpu.median).toFixed(2)}×`,
          'platform results/s': formatSpread(pick('platform', type, phase, 'rate'), 0),
          'Kafka Streams results/s': formatSpread(pick('kafkaStreams', type, phase, 'rate'), 0),
        };
      }),
    );
    console.table(rows);
    const pairsEqual = TYPES.every((type) => {
      const platform = rounds.filter((round) => round.side === 'platform' && round.type === type);
      const streams = rounds.filter((round) => round.side === 'kafkaStreams' && round.type === type);
      return platform.every(
        (round, index) => streams[index] !== undefined && sameOutputs(round.finalOutputs, streams[index]!.finalOutputs),
      );
    });
    const finalOutputsEqual = pairsEqual && rounds.every((round) => round.finalOutputsCorrect);
    console.log(
      `  CPU: platform = its runner process + the local DynamoDB server's; Kafka Streams = its JVM; the broker on neither side. Final outputs equal on both sides and to the join of the final inputs: ${finalOutputsEqual}.`,
    );

    // 4. The floor: a plain consume → produce of the left-load records.
    const passThroughTopics = { from: uniqueName('bench-pass-in'), to: uniqueName('bench-pass-out') };
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: passThroughTopics.from, numPartitions: 3 },
        { topic: passThroughTopics.to, numPartitions: 3 },
      ],
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let start = 0; start < phases.leftLoad.length; start += 1_000)
      await producer.send({ topic: passThroughTopics.from, messages: phases.leftLoad.slice(start, start + 1_000) });
    await producer.disconnect();
    await admin.disconnect();
    const passThrough = await measurePassThrough(kafka, passThroughTopics.from, passThroughTopics.to, phases.leftLoad.length);
    console.log(
      `\n4. Kafka pass-through of the same ${phases.leftLoad.length} left-load records (kafkajs consume → produce): ${passThrough.cpuMsPerRecord.toFixed(3)} CPU ms per record.`,
    );

    // 5. Where the platform's CPU goes.
    const profileDir = mkdtempSync(join(LOCAL_STATE_DIR, 'bench-profile-'));
    await runRound('platform', 'left', { runtime, kafka, phases, dynamoDbPids: [], profileDir, log });
    const shares = profileShares(profileDir);
    rmSync(profileDir, { recursive: true, force: true });
    console.log("\n5. Where the platform runner's CPU goes (--cpu-prof of one left-join round; the local DynamoDB server runs apart):");
    console.table(shares.map(({ part, share }) => ({ part, share: `${(share * 100).toFixed(1)}%` })));
    const toolbox = measureToolboxCost();
    // The join's own CPU: the runner process, as it would run in Lambda (the local DynamoDB server apart).
    const runnerCpu = spreadOf(
      rounds
        .filter((round) => round.side === 'platform' && round.type === 'left')
        .map(({ phases: measured }) => measured.leftLoad.ownCpuMs / measured.leftLoad.results),
    ).median;
    const toolboxPerResult = (toolbox.toolboxPutMicros + toolbox.toolboxFormatMicros) / 1000;
    console.log(
      `  dynamodb-toolbox, if it built the requests: ${toolbox.toolboxPutMicros.toFixed(1)} µs per conditional PutItem (by hand ${toolbox.handPutMicros.toFixed(2)}), ${toolbox.toolboxFormatMicros.toFixed(1)} µs per item read (by hand ${toolbox.handFormatMicros.toFixed(2)}): ` +
        `${((100 * toolboxPerResult) / runnerCpu).toFixed(1)}% more than the join process's ${runnerCpu.toFixed(3)} CPU ms per left-load result (a BatchGetItem key would add about 10 µs more). It defines the table and items; requests are built by hand.`,
    );

    // 6. Cost.
    const perMillion = (units: Units) => `$${dollarsPerMillion(units).toFixed(3)}`;
    console.log('\n6. DynamoDB on-demand cost (us-east-1, table units as measured; batch 500)');
    console.table(
      costs
        .filter((cost) => cost.batchSize === 500)
        .map((cost) => ({
          join: cost.type,
          'value size': `${cost.valueBytes} B`,
          'per M new left keys': perMillion(cost.leftInsert),
          'per M left updates, FK unchanged': perMillion(cost.fkUnchanged),
          'per M left updates, FK changed': perMillion(cost.fkChanged),
          'per M fan-out results': perMillion(cost.fanOutResult),
        })),
    );

    const platformCpu = spreadOf(
      rounds
        .filter((round) => round.side === 'platform')
        .map(({ phases: measured }) => measured.leftLoad.cpuMs / measured.leftLoad.results),
    ).median;
    const streamsCpu = spreadOf(
      rounds
        .filter((round) => round.side === 'kafkaStreams')
        .map(({ phases: measured }) => measured.leftLoad.cpuMs / measured.leftLoad.results),
    ).median;
    const rate = (side: Side) =>
      spreadOf(
        rounds.filter((round) => round.side === side).map(({ phases: measured }) => measured.leftLoad.results / measured.leftLoad.seconds),
      ).median;
    const units = (value: Units) => ({
      requests: value.requests,
      readRequests: value.readRequests,
      writeRequests: value.writeRequests,
      rru: value.rru,
      wru: value.wru,
    });
    const result = {
      leftUpdate: { fkUnchanged: units(headline.fkUnchanged), fkChanged: units(headline.fkChanged) },
      fanOutResult: units(headline.fanOutResult),
      cpuMsPerResult: { platform: round3(platformCpu), kafkaStreams: round3(streamsCpu), ratio: round3(platformCpu / streamsCpu) },
      resultsPerSecond: { platform: Math.round(rate('platform')), kafkaStreams: Math.round(rate('kafkaStreams')) },
      finalOutputsEqual,
    };
    mkdirSync(join(LOCAL_STATE_DIR, 'bench'), { recursive: true });
    writeFileSync(RESULT_FILE, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\nWrote ${RESULT_FILE}:\n${JSON.stringify(result)}`);
  } finally {
    await runtime.stop();
  }
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
