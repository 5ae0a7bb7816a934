import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Kafka } from 'kafkajs';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEAD_LETTER_HEADERS, KafkaDeadLetterPublisher } from '../../shared/dead-letter';
import { JoinStateStore } from '../../shared/fk-join';
import { orderedProducer } from '../../shared/kafka';
import { provisionPipeline, type LocalRuntime } from '../../shared/local';
import type { Pipeline } from '../../shared/pipeline';
import { readValue, topicValueFormat, writeValue } from '../../shared/schemas';
import { parseTraceparent, TRACE_HEADERS } from '../../shared/tracing';
import { connectToTestServices, eventually, produce, readTopic, recordCount, uniqueName } from '../support/integration';
import { runPlatform } from '../support/run-platform';

const ROOT = join(__dirname, '..', '..');
const PIPELINE = join(ROOT, 'test', 'fixtures', 'cli-pipeline.ts');
/** A W3C trace context from the specification's examples. */
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACE_ID_FORM = /^[0-9a-f]{32}$/;

describe('The platform command line, run as a user runs it (integration)', () => {
  let runtime: LocalRuntime;
  let kafka: Kafka;
  let pipeline: Pipeline;
  const prefix = `${uniqueName('cli')}.`;

  /** Runs `platform <args>` against the test services, with the fixture pipeline under this run's prefix. */
  const platform = (args: readonly string[], stdin?: string) =>
    runPlatform([...args, '--pipeline', PIPELINE], { env: { ...process.env, CLI_TEST_PREFIX: prefix }, ...(stdin === undefined ? {} : { stdin }) });

  /** A topic's format as the fixture pipeline declares it, on the registry the spawned CLI uses too. */
  const formatOf = (topic: string) => topicValueFormat(pipeline.topics.find((declared) => declared.name === topic)!, () => runtime.schemaRegistry());

  beforeAll(async () => {
    runtime = await connectToTestServices();
    kafka = runtime.kafkaClient('cli-test');
    process.env['CLI_TEST_PREFIX'] = prefix;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      pipeline = (require(PIPELINE) as { default: Pipeline }).default;
    });
    const admin = kafka.admin();
    await admin.connect();
    const dynamodb = runtime.dynamoDbClient();
    await provisionPipeline({ kafkaAdmin: admin, dynamodb }, pipeline);
    // New topics answer offset requests once their leaders are elected.
    await eventually('every topic has its leaders', async () => {
      const answered = await Promise.all(pipeline.topics.map((topic) => admin.fetchTopicOffsets(topic.name).then(() => true, () => false)));
      return answered.every(Boolean);
    });
    await admin.disconnect();
    dynamodb.destroy();
  });

  it('explains itself with --help, and answers a wrong command with exit code 2 and a pointer to --help', async () => {
    const help = await platform(['--help']);
    const wrong = await platform(['frobnicate']);

    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/dlq redrive <consumer>/);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/unknown command "frobnicate"\nRun with --help/);
  });

  it('produces NDJSON from stdin checked against the topic schema, in its wire format, refusing a bad input whole', async () => {
    const merchants = `${prefix}merchants`;
    const good = [
      { key: 'm-1', value: { merchantId: 'm-1', name: 'Corner Shop', country: 'DE', website: null } },
      { key: 'm-2', value: null },
    ];
    const bad = [
      { key: 'm-3', value: { merchantId: 'm-3', country: 'FR' } },
      { key: 'm-4', value: { merchantId: 'm-4', name: 'Typo', country: 'FR', website: null, webSite: 'https://typo.example' } },
    ];

    const refused = await platform(['produce', merchants], [...good, ...bad].map((line) => JSON.stringify(line)).join('\n'));
    const accepted = await platform(['produce', merchants, '--json'], good.map((line) => JSON.stringify(line)).join('\n'));

    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/nothing produced to ".*merchants":\n {2}line 3: name: undefined does not match schema merchants-value v1\n {2}line 4: webSite: not a field of schema merchants-value v1/);
    expect(accepted.code).toBe(0);
    // Lines without a traceparent: a new trace each, its id in the result, in input order.
    const result = JSON.parse(accepted.stdout) as { traceIds: string[] };
    expect(result).toEqual({ topic: merchants, produced: 2, traceIds: [expect.stringMatching(TRACE_ID_FORM), expect.stringMatching(TRACE_ID_FORM)] });
    expect(result.traceIds[0]).not.toBe(result.traceIds[1]);
    const records = await readTopic(kafka, merchants, 2);
    expect(records.map((record) => [record.key, record.value === null]).sort()).toEqual([['m-1', false], ['m-2', true]]);
    expect(good.map((line) => parseTraceparent(records.find((record) => record.key === line.key)!.headers[TRACE_HEADERS.traceparent])?.traceId)).toEqual(result.traceIds);
    const m1 = records.find((record) => record.key === 'm-1')!;
    expect(m1.valueBytes![0]).toBe(0); // the wire format's magic byte, then the schema id
    expect(await readValue(formatOf(merchants), m1.valueBytes)).toEqual(good[0]!.value);
  });

  it('lists topics with partitions, records and each consumer group’s lag, and tails a topic decoded with headers', async () => {
    const flyers = `${prefix}flyers`;
    const flyer = { flyerId: 'f-1', merchantId: 'm-1', title: 'Deals', validFrom: 1, validUntil: 2 };
    await produce(kafka, flyers, [{ key: 'f-1', value: await writeValue(formatOf(flyers), flyer), headers: { 'x-source-system': 'monolith' } }]);
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId: `${prefix}lagging`, topic: flyers, partitions: [0, 1, 2].map((partition) => ({ partition, offset: '0' })) });
    await admin.disconnect();

    const topics = await platform(['topics', '--json']);
    const tail = await platform(['tail', flyers, '--from', 'beginning', '--max', '1', '--json']);

    expect(topics.code).toBe(0);
    expect((JSON.parse(topics.stdout) as Array<{ topic: string }>).find((row) => row.topic === flyers)).toEqual({ topic: flyers, partitions: 3, records: 1, lag: { [`${prefix}lagging`]: 1 } });
    expect(tail.code).toBe(0);
    // Decoded from Avro in the wire format, with the schema the registry holds for the record's schema id.
    expect(JSON.parse(tail.stdout)).toMatchObject({ topic: flyers, key: 'f-1', value: flyer, headers: { 'x-source-system': 'monolith' } });
  });

  it('lists a consumer’s dead letters with reasons and redrives each to its source topic exactly once', async () => {
    // Prepare: a record of the merchants topic, dead-lettered as the event source does.
    const consumer = pipeline.consumers.find((candidate) => candidate.name === 'merchant-directory')!;
    const producer = orderedProducer(kafka);
    await producer.connect();
    await new KafkaDeadLetterPublisher(producer, `${prefix}merchants.dlq`, consumer.eventSource.consumerGroupId).publish([
      {
        record: { topic: `${prefix}merchants`, partition: 0, offset: 41, timestamp: Date.now(), timestampType: 'CREATE_TIME', key: Buffer.from('m-9'), value: Buffer.from('{"name":"fixed later"}'), headers: [['trace', Buffer.from('t-1')]] },
        reason: 'RetryAttemptsExhausted',
        error: 'Error: downstream unavailable',
        attempts: 1,
      },
    ]);
    await producer.disconnect();

    // Act
    const list = await platform(['dlq', 'list', 'merchant-directory', '--json']);
    const first = await platform(['dlq', 'redrive', 'merchant-directory', '--json']);
    const second = await platform(['dlq', 'redrive', 'merchant-directory', '--json']);

    // Assess
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).letters).toEqual([expect.objectContaining({ key: 'm-9', reason: 'RetryAttemptsExhausted', error: 'Error: downstream unavailable', source: `${prefix}merchants-0@41` })]);
    expect(JSON.parse(list.stdout).letters[0]).not.toHaveProperty('traceId'); // the record had no traceparent
    expect(JSON.parse(first.stdout)).toMatchObject({ redriven: 1, alreadyRedriven: 0 });
    expect(JSON.parse(second.stdout)).toMatchObject({ redriven: 0, alreadyRedriven: 1 });
    const redriven = (await readTopic(kafka, `${prefix}merchants`, 3)).filter((record) => record.key === 'm-9');
    expect(redriven).toHaveLength(1);
    expect(redriven[0]!.value).toBe('{"name":"fixed later"}');
    expect(redriven[0]!.headers).toMatchObject({ trace: 't-1', 'x-redriven-from': `${prefix}merchants.dlq-0@0` });
    expect(Object.keys(redriven[0]!.headers).some((name) => name.startsWith(DEAD_LETTER_HEADERS.reason))).toBe(false);
    // A letter without a trace goes back in a new one, caused by no record.
    expect(parseTraceparent(redriven[0]!.headers[TRACE_HEADERS.traceparent])).toEqual(expect.objectContaining({ traceId: expect.stringMatching(TRACE_ID_FORM) }));
    expect(redriven[0]!.headers).not.toHaveProperty(TRACE_HEADERS.cause);
  });

  it('replays a consumer from the earliest offset, but refuses while the consumer runs', async () => {
    const consumer = pipeline.consumers.find((candidate) => candidate.name === 'merchant-directory')!;
    const running = kafka.consumer({ groupId: consumer.eventSource.consumerGroupId });
    await running.connect();
    await running.subscribe({ topic: consumer.topic.name, fromBeginning: true });
    await new Promise<void>((resolve) => {
      running.on(running.events.GROUP_JOIN, () => resolve());
      void running.run({ eachMessage: async () => undefined });
    });
    const refused = await platform(['replay', 'merchant-directory', '--from', 'earliest']);
    await running.disconnect();

    const replayed = await platform(['replay', 'merchant-directory', '--from', 'earliest', '--json']);

    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/consumer "merchant-directory" is running .* stop it, then replay/);
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.stdout).partitions).toEqual(expect.arrayContaining([{ partition: 0, offset: '0' }]));
  });

  it('shows the join state of a key', async () => {
    const join = pipeline.joins[0]!;
    const documents = DynamoDBDocumentClient.from(runtime.dynamoDbClient());
    await new JoinStateStore(documents, join.table.name).replaceLeftRow(
      { leftKey: 'item-7', leftOffset: 3, foreignKey: 'flyer-2', value: Buffer.from('{"name":"Milk"}'), subscribedAt: 3, outputRightOffset: -1, emitted: false },
      undefined,
    );
    documents.destroy();

    const state = await platform(['state', join.join.name, 'item-7', '--json']);

    expect(state.code).toBe(0);
    expect(JSON.parse(state.stdout)).toMatchObject({ key: 'item-7', asLeft: { leftOffset: 3, foreignKey: 'flyer-2', value: '{"name":"Milk"}', output: { position: '3:-1' } }, asRight: null });
  });

  it('liberates a CSV snapshot into an entity topic, cells typed by the schema, rejecting bad rows with reasons, leaving out columns the entity lacks, and does not send a finished snapshot again', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'liberate-'));
    const file = join(directory, 'flyers.csv');
    writeFileSync(
      file,
      [
        'flyerId,merchantId,title,validFrom,validUntil,region',
        'fl-1,m-1,"Deals, week 1",1767225600000,1767830400000,north',
        'fl-2,m-1,Soon,someday,1767830400000,north',
        'fl-3,m-2,Week 2,1767830400000,1768435200000,south',
      ].join('\n'),
    );
    const topic = `${prefix}flyers`;
    const before = await endOffset(topic);

    const first = await platform(['liberate', topic, '--file', file, '--key-field', 'flyerId', '--schema', 'flyers-value', '--json']);
    const again = await platform(['liberate', topic, '--file', file, '--key-field', 'flyerId', '--schema', 'flyers-value', '--json']);

    expect(first.code).toBe(0);
    // A column the entity does not have is left out, and named.
    expect(JSON.parse(first.stdout)).toMatchObject({ linesRead: 3, produced: 2, rejected: 1, ignoredFields: ['region'] });
    expect(JSON.parse(first.stdout).rejectedRows).toEqual([{ line: 3, problems: ['validFrom: "someday" does not match the schema'] }]);
    expect(JSON.parse(again.stdout)).toMatchObject({ alreadyComplete: true, produced: 2 });
    expect((await endOffset(topic)) - before).toBe(2);
    const records = await readTopic(kafka, topic, before + 2);
    const liberated = records.find((record) => record.key === 'fl-1');
    expect(await readValue(formatOf(topic), liberated!.valueBytes)).toEqual({ flyerId: 'fl-1', merchantId: 'm-1', title: 'Deals, week 1', validFrom: 1767225600000, validUntil: 1767830400000 });
    // A trace per row.
    const traces = ['fl-1', 'fl-3'].map((key) => parseTraceparent(records.find((record) => record.key === key)!.headers[TRACE_HEADERS.traceparent])?.traceId);
    expect(traces).toEqual([expect.stringMatching(TRACE_ID_FORM), expect.stringMatching(TRACE_ID_FORM)]);
    expect(traces[0]).not.toBe(traces[1]);
  });

  it('resumes a liberation that stopped part-way after the last acknowledged line, sending only the rest', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'liberate-'));
    const file = join(directory, 'merchants.ndjson');
    writeFileSync(file, ['\uFEFF{"merchantId":"r-1","name":"One","country":"DE","website":null}', '{"merchantId":"r-2","name":"Two","country":"FR","website":null}', '{"merchantId":"r-3","name":"Three","country":"PT","website":null}'].join('\n'));
    // An entity topic nothing else in these tests writes (merchants also holds transaction markers from redrive).
    const topic = `${prefix}merchants-snapshot`;
    // As a run that crashed after its first acknowledged chunk (line 1) leaves it.
    const { size, mtimeMs } = statSync(file);
    writeFileSync(`${file}.liberate-checkpoint.json`, JSON.stringify({ file, topic, keyField: 'merchantId', subject: 'merchants-value', completed: false, size, modifiedMs: mtimeMs, linesDone: 1, produced: 1, rejected: 0 }));

    const resumed = await platform(['liberate', topic, '--file', file, '--key-field', 'merchantId', '--schema', 'merchants-value', '--json']);

    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ resumedAfterLine: 1, produced: 3, rejected: 0 });
    const keys = (await readTopic(kafka, topic, await endOffset(topic))).map((record) => record.key);
    expect(keys.sort()).toEqual(['r-2', 'r-3']);
  });

  describe('trace context', () => {
    it('shows the trace id of each record it tails', async () => {
      const topic = `${prefix}traced`;
      await createTopic(topic);
      await produce(kafka, topic, [
        { key: 'joined', value: '{"n":1}', headers: { [TRACE_HEADERS.traceparent]: TRACEPARENT, [TRACE_HEADERS.cause]: 'b7ad6b7169203331' } },
        { key: 'untraced', value: '{"n":2}' },
      ]);

      const json = await platform(['tail', topic, '--from', 'beginning', '--max', '2', '--json']);
      const text = await platform(['tail', topic, '--from', 'beginning', '--max', '2']);

      expect(json.code).toBe(0);
      const [joined, untraced] = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(joined).toMatchObject({ key: 'joined', trace: { traceId: TRACE_ID, spanId: '00f067aa0ba902b7', causeSpanId: 'b7ad6b7169203331', xrayTraceId: '1-4bf92f35-77b34da6a3ce929d0e0e4736' } });
      expect(untraced).toMatchObject({ key: 'untraced' });
      expect(untraced).not.toHaveProperty('trace');
      expect(text.code).toBe(0);
      expect(text.stdout.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^\\S+ ${topic}-0@0 joined trace=${TRACE_ID} \\{"n":1\\} `)),
        expect.stringMatching(new RegExp(`^\\S+ ${topic}-0@1 untraced trace=\\(none\\) \\{"n":2\\} `)),
      ]);
    });

    it('puts every line of a produce into the trace given by --traceparent', async () => {
      const items = `${prefix}items`;
      const lines = ['i-1', 'i-2'].map((itemId) => ({ key: itemId, value: { itemId, flyerId: 'f-1', name: 'Milk', category: 'dairy', description: null, imageUrl: null } }));

      const json = await platform(['produce', items, '--traceparent', TRACEPARENT, '--json'], lines.map((line) => JSON.stringify(line)).join('\n'));
      const text = await platform(['produce', items, '--traceparent', TRACEPARENT], JSON.stringify({ ...lines[0], key: 'i-3' }));

      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({ topic: items, produced: 2, traceIds: [TRACE_ID, TRACE_ID] });
      expect(text.code).toBe(0);
      expect(text.stdout).toBe(`produced 1 record(s) to ${items}\n`);
      expect(text.stderr).toContain(`trace ${TRACE_ID}: all 1 record(s), each a child of --traceparent\n`);
      const records = (await readTopic(kafka, items, await endOffset(items))).filter((record) => ['i-1', 'i-2', 'i-3'].includes(record.key!));
      const contexts = records.map((record) => parseTraceparent(record.headers[TRACE_HEADERS.traceparent]));
      // Children: the given trace and flags, a span of each record's own; the caller's span is on no record, so no x-trace-cause.
      expect(contexts).toEqual([0, 1, 2].map(() => expect.objectContaining({ traceId: TRACE_ID, flags: 1 })));
      expect(new Set([...contexts.map((context) => context!.parentId), '00f067aa0ba902b7']).size).toBe(4);
      expect(records.every((record) => record.headers[TRACE_HEADERS.cause] === undefined)).toBe(true);
    });

    it('keeps a produced line’s own traceparent, starts a trace for each other line, and lists them on stderr', async () => {
      const items = `${prefix}items`;
      const value = (itemId: string) => ({ itemId, flyerId: 'f-1', name: 'Milk', category: 'dairy', description: null, imageUrl: null });
      const input = [
        { key: 'i-4', value: value('i-4'), headers: { [TRACE_HEADERS.traceparent]: TRACEPARENT, 'x-source-system': 'monolith' } },
        { key: 'i-5', value: value('i-5'), headers: { [TRACE_HEADERS.traceparent]: 'not-a-traceparent' } },
      ];

      const run = await platform(['produce', items], input.map((line) => JSON.stringify(line)).join('\n'));

      expect(run.code).toBe(0);
      expect(run.stderr).toContain(`traces of the 2 record(s):\n  line 1 key=i-4 trace=${TRACE_ID}\n`);
      const fresh = /^ {2}line 2 key=i-5 trace=([0-9a-f]{32})$/m.exec(run.stderr)?.[1];
      expect(fresh).toBeDefined();
      const records = await readTopic(kafka, items, await endOffset(items));
      expect(records.find((record) => record.key === 'i-4')!.headers).toEqual({ [TRACE_HEADERS.traceparent]: TRACEPARENT, 'x-source-system': 'monolith' });
      expect(parseTraceparent(records.find((record) => record.key === 'i-5')!.headers[TRACE_HEADERS.traceparent])?.traceId).toBe(fresh);
    });

    it('refuses an invalid --traceparent with exit code 2', async () => {
      const items = `${prefix}items`;
      const before = await endOffset(items);
      const line = JSON.stringify({ key: 'i-9', value: { itemId: 'i-9', flyerId: 'f-1', name: 'Milk', category: 'dairy', description: null, imageUrl: null } });

      const invalid = await platform(['produce', items, '--traceparent', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'], line);
      const both = await platform(['produce', items, '--traceparent', TRACEPARENT], JSON.stringify({ ...(JSON.parse(line) as object), headers: { traceparent: TRACEPARENT } }));

      expect(invalid.code).toBe(2);
      expect(invalid.stderr).toMatch(/^error: --traceparent must be a W3C traceparent, 00-<trace id: 32 lowercase hex>-<parent span id: 16 lowercase hex>-<flags: 2 hex>.* got "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"\nRun with --help/);
      // A line with a trace of its own contradicts --traceparent: the input is refused, naming the line.
      expect(both.code).toBe(1);
      expect(both.stderr).toMatch(/line 1: has a traceparent header of its own, and --traceparent puts every line into one trace: drop one of them/);
      expect(await endOffset(items)).toBe(before);
    });

    it('refuses --traceparent on a command other than produce with exit code 2', async () => {
      const run = await platform(['liberate', `${prefix}items`, '--file', 'items.ndjson', '--key-field', 'itemId', '--traceparent', TRACEPARENT]);

      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^error: --traceparent is an option of produce only, not of liberate\nRun with --help/);
    });

    describe('of dead letters', () => {
      const consumerName = 'merchant-directory';
      /** Where the letter came from: a topic of its own, so the redriven record is the only one there. */
      const source = `${prefix}traced-source`;

      beforeAll(async () => {
        await createTopic(source);
        const consumer = pipeline.consumers.find((candidate) => candidate.name === consumerName)!;
        const producer = orderedProducer(kafka);
        await producer.connect();
        await new KafkaDeadLetterPublisher(producer, `${prefix}merchants.dlq`, consumer.eventSource.consumerGroupId)
          .publish([
            {
              record: {
                topic: source,
                partition: 0,
                offset: 7,
                timestamp: Date.now(),
                timestampType: 'CREATE_TIME',
                key: Buffer.from('m-traced'),
                value: Buffer.from('{"name":"traced"}'),
                headers: [
                  [TRACE_HEADERS.traceparent, Buffer.from(TRACEPARENT)],
                  [TRACE_HEADERS.tracestate, Buffer.from('rojo=00f067aa0ba902b7')],
                  [TRACE_HEADERS.cause, Buffer.from('b7ad6b7169203331')],
                ],
              },
              reason: 'RetryAttemptsExhausted',
              error: 'Error: downstream unavailable',
              attempts: 1,
            },
          ])
          .finally(() => producer.disconnect());
      });

      it('shows a dead letter’s trace id', async () => {
        const list = await platform(['dlq', 'list', consumerName, '--json']);
        const text = await platform(['dlq', 'list', consumerName]);
        const row = (JSON.parse(list.stdout) as { letters: Array<{ key: string; partition: number; offset: number }> }).letters.find((letter) => letter.key === 'm-traced')!;
        const show = await platform(['dlq', 'show', consumerName, '--offset', `${row.partition}:${row.offset}`, '--json']);

        expect(list.code).toBe(0);
        expect(row).toMatchObject({ traceId: TRACE_ID, source: `${source}-0@7` });
        expect(text.stdout).toContain(`${row.partition}:${row.offset} key=m-traced trace=${TRACE_ID} from ${source}-0@7 RetryAttemptsExhausted`);
        expect(text.stdout).toMatch(/key=m-9 trace=\(none\) from/);
        expect(show.code).toBe(0);
        expect(JSON.parse(show.stdout)).toMatchObject({ key: 'm-traced', trace: { traceId: TRACE_ID, spanId: '00f067aa0ba902b7', causeSpanId: 'b7ad6b7169203331', xrayTraceId: '1-4bf92f35-77b34da6a3ce929d0e0e4736' } });
      });

      it('redrives a letter as a child of its trace', async () => {
        const run = await platform(['dlq', 'redrive', consumerName, '--json']);

        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout)).toMatchObject({ redriven: 1 });
        const [redriven] = await readTopic(kafka, source, 1);
        // A new span in the letter's trace, tracestate passed on, x-trace-cause naming the letter's span.
        const context = parseTraceparent(redriven!.headers[TRACE_HEADERS.traceparent], redriven!.headers[TRACE_HEADERS.tracestate]);
        expect(context).toEqual({ traceId: TRACE_ID, parentId: expect.stringMatching(/^[0-9a-f]{16}$/), flags: 1, traceState: 'rojo=00f067aa0ba902b7' });
        expect(context!.parentId).not.toBe('00f067aa0ba902b7');
        expect(redriven!.headers[TRACE_HEADERS.cause]).toBe('00f067aa0ba902b7');
        expect(redriven).toMatchObject({ key: 'm-traced', value: '{"name":"traced"}' });
        expect(redriven!.headers['x-redriven-from']).toMatch(new RegExp(`^${prefix.replace(/\./g, '\\.')}merchants\\.dlq-0@\\d+$`));
        // Exactly once still: a second run sends nothing.
        const again = await platform(['dlq', 'redrive', consumerName, '--json']);
        expect(JSON.parse(again.stdout)).toMatchObject({ redriven: 0 });
        expect(await endOffset(source)).toBe(2); // the record and its transaction's commit marker
      });
    });
  });

  it('checks the repository schemas for compatibility', async () => {
    const check = await platform(['schemas', 'check', '--json']);

    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ problems: [] });
  });

  const endOffset = (topic: string) => recordCount(kafka, topic);

  /** A topic of one partition the pipeline does not declare (its records are JSON to the CLI). */
  const createTopic = async (topic: string) => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true }).finally(() => admin.disconnect());
  };
});
