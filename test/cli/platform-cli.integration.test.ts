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
import { connectToTestServices, eventually, produce, readTopic, recordCount, uniqueName } from '../support/integration';
import { runPlatform } from '../support/run-platform';

const ROOT = join(__dirname, '..', '..');
const PIPELINE = join(ROOT, 'test', 'fixtures', 'cli-pipeline.ts');


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
    expect(JSON.parse(accepted.stdout)).toEqual({ topic: merchants, produced: 2 });
    const records = await readTopic(kafka, merchants, 2);
    expect(records.map((record) => [record.key, record.value === null]).sort()).toEqual([['m-1', false], ['m-2', true]]);
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
    expect(JSON.parse(first.stdout)).toMatchObject({ redriven: 1, alreadyRedriven: 0 });
    expect(JSON.parse(second.stdout)).toMatchObject({ redriven: 0, alreadyRedriven: 1 });
    const redriven = (await readTopic(kafka, `${prefix}merchants`, 3)).filter((record) => record.key === 'm-9');
    expect(redriven).toHaveLength(1);
    expect(redriven[0]!.value).toBe('{"name":"fixed later"}');
    expect(redriven[0]!.headers).toMatchObject({ trace: 't-1', 'x-redriven-from': `${prefix}merchants.dlq-0@0` });
    expect(Object.keys(redriven[0]!.headers).some((name) => name.startsWith(DEAD_LETTER_HEADERS.reason))).toBe(false);
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
    const liberated = (await readTopic(kafka, topic, before + 2)).find((record) => record.key === 'fl-1');
    expect(await readValue(formatOf(topic), liberated!.valueBytes)).toEqual({ flyerId: 'fl-1', merchantId: 'm-1', title: 'Deals, week 1', validFrom: 1767225600000, validUntil: 1767830400000 });
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

  it('checks the repository schemas for compatibility', async () => {
    const check = await platform(['schemas', 'check', '--json']);

    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ problems: [] });
  });

  const endOffset = (topic: string) => recordCount(kafka, topic);
});
