import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEAD_LETTER_HEADERS, KafkaDeadLetterPublisher } from '../../shared/dead-letter';
import { JoinStateStore } from '../../shared/fk-join';
import { orderedProducer } from '../../shared/kafka';
import type { Pipeline } from '../../shared/pipeline';
import { readValue, topicValueFormat, writeValue } from '../../shared/schemas';
import { parseTraceparent, TRACE_HEADERS } from '../../shared/tracing';
import { CLI_PIPELINE, loadCliPipeline } from '../support/cli-fixture';
import { produce, provisionPipelineAndLeaders, readTopic, recordCount, uniqueName, useTestServices } from '../support/integration';
import { runPlatform } from '../support/run-platform';

/** A W3C trace context from the specification's examples. */
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACE_ID_FORM = /^[0-9a-f]{32}$/;

describe('The platform command line, run as a user runs it (integration)', () => {
  const services = useTestServices('cli-test');
  let pipeline: Pipeline;
  const prefix = `${uniqueName('cli')}.`;

  /** Runs `platform <args>` against the test services, with the fixture pipeline under this run's prefix. */
  const platform = (args: readonly string[], stdin?: string) =>
    runPlatform([...args, '--pipeline', CLI_PIPELINE], {
      env: { ...process.env, CLI_TEST_PREFIX: prefix },
      ...(stdin === undefined ? {} : { stdin }),
    });

  /** A topic's format as the fixture pipeline declares it, on the registry the spawned CLI uses too. */
  const formatOf = (topic: string) =>
    topicValueFormat(pipeline.topics.find((declared) => declared.name === topic)!, () => services.runtime.schemaRegistry());

  beforeAll(async () => {
    pipeline = loadCliPipeline(prefix);
    await provisionPipelineAndLeaders(services, pipeline);
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
    expect(refused.stderr).toMatch(
      /nothing produced to ".*merchants":\n {2}line 3: name: undefined does not match schema merchants-value v1\n {2}line 4: webSite: not a field of schema merchants-value v1/,
    );
    expect(accepted.code).toBe(0);
    // Lines without a traceparent: a new trace each, its id in the result, in input order.
    const result = JSON.parse(accepted.stdout) as { traceIds: string[] };
    expect(result).toEqual({
      topic: merchants,
      produced: 2,
      traceIds: [expect.stringMatching(TRACE_ID_FORM), expect.stringMatching(TRACE_ID_FORM)],
    });
    expect(result.traceIds[0]).not.toBe(result.traceIds[1]);
    const records = await readTopic(services.kafka, merchants, 2);
    expect(records.map((record) => [record.key, record.value === null]).sort()).toEqual([
      ['m-1', false],
      ['m-2', true],
    ]);
    expect(
      good.map((line) => parseTraceparent(records.find((record) => record.key === line.key)!.headers[TRACE_HEADERS.traceparent])?.traceId),
    ).toEqual(result.traceIds);
    const m1 = records.find((record) => record.key === 'm-1')!;
    expect(m1.valueBytes![0]).toBe(0); // the wire format's magic byte, then the schema id
    expect(await readValue(formatOf(merchants), m1.valueBytes)).toEqual(good[0]!.value);
  });

  it('lists topics with partitions, records and each consumer group’s lag, and tails a topic decoded with headers', async () => {
    const flyers = `${prefix}flyers`;
    const flyer = { flyerId: 'f-1', merchantId: 'm-1', title: 'Deals', validFrom: 1, validUntil: 2 };
    await produce(services.kafka, flyers, [
      { key: 'f-1', value: await writeValue(formatOf(flyers), flyer), headers: { 'x-source-system': 'monolith' } },
    ]);
    await services.admin.setOffsets({
      groupId: `${prefix}lagging`,
      topic: flyers,
      partitions: [0, 1, 2].map((partition) => ({ partition, offset: '0' })),
    });

    const topics = await platform(['topics', '--json']);
    const tail = await platform(['tail', flyers, '--from', 'beginning', '--max', '1', '--json']);

    expect(topics.code).toBe(0);
    const row = (JSON.parse(topics.stdout) as Array<{ topic: string; noCommitYet: Record<string, string> }>).find(
      (candidate) => candidate.topic === flyers,
    )!;
    expect(row).toMatchObject({ topic: flyers, partitions: 3, records: 1, lag: { [`${prefix}lagging`]: 1 } });
    expect(row.noCommitYet).not.toHaveProperty(`${prefix}lagging`);
    expect(tail.code).toBe(0);
    // Decoded from Avro in the wire format, with the schema the registry holds for the record's schema id.
    expect(JSON.parse(tail.stdout)).toMatchObject({ topic: flyers, key: 'f-1', value: flyer, headers: { 'x-source-system': 'monolith' } });
  });

  it('lists a consumer’s dead letters with reasons and redrives each to its source topic exactly once', async () => {
    // Prepare: a record of the merchants topic, dead-lettered as the event source does.
    const consumer = pipeline.consumers.find((candidate) => candidate.name === 'merchant-directory')!;
    const producer = orderedProducer(services.kafka);
    await producer.connect();
    await new KafkaDeadLetterPublisher(producer, `${prefix}merchants.dlq`, consumer.eventSource.consumerGroupId).publish([
      {
        record: {
          topic: `${prefix}merchants`,
          partition: 0,
          offset: 41,
          timestamp: Date.now(),
          timestampType: 'CREATE_TIME',
          key: Buffer.from('m-9'),
          value: Buffer.from('{"name":"fixed later"}'),
          headers: [['trace', Buffer.from('t-1')]],
        },
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
    expect(JSON.parse(list.stdout).letters).toEqual([
      expect.objectContaining({
        key: 'm-9',
        reason: 'RetryAttemptsExhausted',
        error: 'Error: downstream unavailable',
        source: `${prefix}merchants-0@41`,
      }),
    ]);
    expect(JSON.parse(list.stdout).letters[0]).not.toHaveProperty('traceId'); // the record had no traceparent
    expect(JSON.parse(first.stdout)).toMatchObject({ redriven: 1, alreadyRedriven: 0 });
    expect(JSON.parse(second.stdout)).toMatchObject({ redriven: 0, alreadyRedriven: 1 });
    const redriven = (await readTopic(services.kafka, `${prefix}merchants`, 3)).filter((record) => record.key === 'm-9');
    expect(redriven).toHaveLength(1);
    expect(redriven[0]!.value).toBe('{"name":"fixed later"}');
    expect(redriven[0]!.headers).toMatchObject({ trace: 't-1', 'x-redriven-from': `${prefix}merchants.dlq-0@0` });
    expect(Object.keys(redriven[0]!.headers).some((name) => name.startsWith(DEAD_LETTER_HEADERS.reason))).toBe(false);
    // A letter without a trace goes back in a new one, caused by no record.
    expect(parseTraceparent(redriven[0]!.headers[TRACE_HEADERS.traceparent])).toEqual(
      expect.objectContaining({ traceId: expect.stringMatching(TRACE_ID_FORM) }),
    );
    expect(redriven[0]!.headers).not.toHaveProperty(TRACE_HEADERS.cause);
  });

  it('replays a consumer from the earliest offset, but refuses while the consumer runs', async () => {
    const consumer = pipeline.consumers.find((candidate) => candidate.name === 'merchant-directory')!;
    const running = services.kafka.consumer({ groupId: consumer.eventSource.consumerGroupId });
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
    expect(refused.stderr).toMatch(/consumer "merchant-directory" is running .*: disable it first/);
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.stdout).partitions).toEqual(expect.arrayContaining([{ partition: 0, offset: '0' }]));
  });

  it('shows state as readable JSON', async () => {
    const join = pipeline.joins[0]!;
    await new JoinStateStore(services.documents, join.table.name).replaceLeftRow(
      {
        leftKey: 'item-7',
        leftOffset: 3,
        foreignKey: 'flyer-2',
        value: Buffer.from('{"name":"Milk"}'),
        subscribedAt: 3,
        outputRightOffset: -1,
        emitted: false,
      },
      undefined,
    );

    const state = await platform(['state', join.join.name, 'item-7', '--json']);
    const text = await platform(['state', join.join.name, 'item-7']);

    expect(state.code).toBe(0);
    // The stored value as the object it is, not a JSON string inside the JSON.
    expect(JSON.parse(state.stdout)).toMatchObject({
      key: 'item-7',
      asLeft: { leftOffset: 3, foreignKey: 'flyer-2', value: { name: 'Milk' }, output: { position: '3:-1' } },
      asRight: null,
    });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`join ${join.join.name}, key item-7\nas left row: offset 3, foreign key flyer-2, subscribed at 3, rev `);
    expect(text.stdout).toContain('  value:\n    {\n      "name": "Milk"\n    }\nas right row: none\n');
    expect(text.stdout).not.toContain('\\"');
  });

  it('explains a join result with the input records its position names, and shows a hot stream key with nothing stored', async () => {
    // A result as the items-with-flyer join writes it: its x-join-position names the item and the flyer it was joined from.
    const [items, flyers, output] = [`${prefix}items`, `${prefix}flyers`, `${prefix}items-with-flyer`];
    const item = { itemId: 'i-x', flyerId: 'f-x', name: 'Tea', category: 'drinks', description: null, imageUrl: null };
    const flyer = { flyerId: 'f-x', merchantId: 'm-x', title: 'Week 9', validFrom: 1, validUntil: 2 };
    const producer = orderedProducer(services.kafka);
    await producer.connect();
    try {
      const send = async (topic: string, key: string, value: unknown, headers: Record<string, string> = {}) => {
        const [written] = await producer.send({
          topic,
          acks: -1,
          messages: [{ key, value: await writeValue(formatOf(topic), value), headers }],
        });
        return Number(written!.baseOffset);
      };
      const itemOffset = await send(items, 'i-x', item);
      const flyerOffset = await send(flyers, 'f-x', flyer);
      await send(
        output,
        'i-x',
        { item, flyer },
        { 'x-join-position': `${itemOffset}:${flyerOffset}`, 'x-join-name': `${prefix}items-with-flyer` },
      );

      const text = await platform(['explain', output, 'i-x']);
      const json = await platform(['explain', output, 'i-x', '--json']);
      const notAJoin = await platform(['explain', items, 'i-x']);
      const hot = await platform(['state', `${prefix}prices`, 'i-x']);

      expect(text.code).toBe(0);
      expect(text.stdout).toContain(`joined by ${prefix}items-with-flyer (inner join) at position ${itemOffset}:${flyerOffset}`);
      expect(text.stdout).toMatch(new RegExp(`├ left  ${items.replace(/\./g, '\\.')}-\\d+@${itemOffset} key i-x`));
      expect(text.stdout).toMatch(new RegExp(`└ right ${flyers.replace(/\./g, '\\.')}-\\d+@${flyerOffset} key f-x`));
      expect(text.stdout).toContain('value: {"flyerId":"f-x","merchantId":"m-x","title":"Week 9","validFrom":1,"validUntil":2}');
      expect(JSON.parse(json.stdout)).toMatchObject({
        lineage: {
          join: {
            left: { kind: 'record', lineage: { record: { value: item } } },
            right: { kind: 'record', lineage: { record: { value: flyer } } },
          },
        },
      });
      expect(notAJoin.code).toBe(2);
      expect(notAJoin.stderr).toMatch(/is not a join's output/);
      expect(hot.code).toBe(0);
      expect(hot.stdout).toBe(`hot stream ${prefix}prices, key i-x: nothing stored\n`);
    } finally {
      await producer.disconnect();
    }
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
    const records = await readTopic(services.kafka, topic, before + 2);
    const liberated = records.find((record) => record.key === 'fl-1');
    expect(await readValue(formatOf(topic), liberated!.valueBytes)).toEqual({
      flyerId: 'fl-1',
      merchantId: 'm-1',
      title: 'Deals, week 1',
      validFrom: 1767225600000,
      validUntil: 1767830400000,
    });
    // A trace per row.
    const traces = ['fl-1', 'fl-3'].map(
      (key) => parseTraceparent(records.find((record) => record.key === key)!.headers[TRACE_HEADERS.traceparent])?.traceId,
    );
    expect(traces).toEqual([expect.stringMatching(TRACE_ID_FORM), expect.stringMatching(TRACE_ID_FORM)]);
    expect(traces[0]).not.toBe(traces[1]);
  });

  describe('trace context', () => {
    it('shows the trace id of each record it tails', async () => {
      const topic = `${prefix}traced`;
      await createTopic(topic);
      await produce(services.kafka, topic, [
        {
          key: 'joined',
          value: '{"n":1}',
          headers: { [TRACE_HEADERS.traceparent]: TRACEPARENT, [TRACE_HEADERS.cause]: 'b7ad6b7169203331' },
        },
        { key: 'untraced', value: '{"n":2}' },
      ]);

      const json = await platform(['tail', topic, '--from', 'beginning', '--max', '2', '--json']);
      const text = await platform(['tail', topic, '--from', 'beginning', '--max', '2']);

      expect(json.code).toBe(0);
      const [joined, untraced] = json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(joined).toMatchObject({
        key: 'joined',
        trace: {
          traceId: TRACE_ID,
          spanId: '00f067aa0ba902b7',
          causeSpanId: 'b7ad6b7169203331',
          xrayTraceId: '1-4bf92f35-77b34da6a3ce929d0e0e4736',
        },
      });
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
      const lines = ['i-1', 'i-2'].map((itemId) => ({
        key: itemId,
        value: { itemId, flyerId: 'f-1', name: 'Milk', category: 'dairy', description: null, imageUrl: null },
      }));

      const json = await platform(
        ['produce', items, '--traceparent', TRACEPARENT, '--json'],
        lines.map((line) => JSON.stringify(line)).join('\n'),
      );
      const text = await platform(
        ['produce', items, '--traceparent', TRACEPARENT],
        JSON.stringify({ key: 'i-3', value: { ...lines[0]!.value, itemId: 'i-3' } }),
      );

      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({ topic: items, produced: 2, traceIds: [TRACE_ID, TRACE_ID] });
      expect(text.code).toBe(0);
      expect(text.stdout).toBe(`produced 1 record(s) to ${items}\n`);
      expect(text.stderr).toContain(`trace ${TRACE_ID}: all 1 record(s), each a child of --traceparent\n`);
      const records = (await readTopic(services.kafka, items, await endOffset(items))).filter((record) =>
        ['i-1', 'i-2', 'i-3'].includes(record.key!),
      );
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
      const records = await readTopic(services.kafka, items, await endOffset(items));
      expect(records.find((record) => record.key === 'i-4')!.headers).toEqual({
        [TRACE_HEADERS.traceparent]: TRACEPARENT,
        'x-source-system': 'monolith',
      });
      expect(parseTraceparent(records.find((record) => record.key === 'i-5')!.headers[TRACE_HEADERS.traceparent])?.traceId).toBe(fresh);
    });

    it('refuses an invalid --traceparent with exit code 2', async () => {
      const items = `${prefix}items`;
      const before = await endOffset(items);
      const line = JSON.stringify({
        key: 'i-9',
        value: { itemId: 'i-9', flyerId: 'f-1', name: 'Milk', category: 'dairy', description: null, imageUrl: null },
      });

      const invalid = await platform(['produce', items, '--traceparent', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'], line);
      const both = await platform(
        ['produce', items, '--traceparent', TRACEPARENT],
        JSON.stringify({ ...(JSON.parse(line) as object), headers: { traceparent: TRACEPARENT } }),
      );

      expect(invalid.code).toBe(2);
      expect(invalid.stderr).toMatch(
        /^error: --traceparent must be a W3C traceparent, 00-<trace id: 32 lowercase hex>-<parent span id: 16 lowercase hex>-<flags: 2 hex>.* got "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"\nRun with --help/,
      );
      // A line with a trace of its own contradicts --traceparent: the input is refused, naming the line.
      expect(both.code).toBe(1);
      expect(both.stderr).toMatch(
        /line 1: has a traceparent header of its own, and --traceparent puts every line into one trace: drop one of them/,
      );
      expect(await endOffset(items)).toBe(before);
    });

    it('refuses --traceparent on a command other than produce with exit code 2', async () => {
      const run = await platform([
        'liberate',
        `${prefix}items`,
        '--file',
        'items.ndjson',
        '--key-field',
        'itemId',
        '--traceparent',
        TRACEPARENT,
      ]);

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
        const producer = orderedProducer(services.kafka);
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
        const row = (JSON.parse(list.stdout) as { letters: Array<{ key: string; partition: number; offset: number }> }).letters.find(
          (letter) => letter.key === 'm-traced',
        )!;
        const show = await platform(['dlq', 'show', consumerName, '--offset', `${row.partition}:${row.offset}`, '--json']);

        expect(list.code).toBe(0);
        expect(row).toMatchObject({ traceId: TRACE_ID, source: `${source}-0@7` });
        expect(text.stdout).toContain(
          `${row.partition}:${row.offset} key=m-traced trace=${TRACE_ID} from ${source}-0@7 RetryAttemptsExhausted`,
        );
        expect(text.stdout).toMatch(/key=m-9 trace=\(none\) from/);
        expect(show.code).toBe(0);
        expect(JSON.parse(show.stdout)).toMatchObject({
          key: 'm-traced',
          trace: {
            traceId: TRACE_ID,
            spanId: '00f067aa0ba902b7',
            causeSpanId: 'b7ad6b7169203331',
            xrayTraceId: '1-4bf92f35-77b34da6a3ce929d0e0e4736',
          },
        });
      });

      it('redrives a letter as a child of its trace', async () => {
        const run = await platform(['dlq', 'redrive', consumerName, '--json']);

        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout)).toMatchObject({ redriven: 1 });
        const [redriven] = await readTopic(services.kafka, source, 1);
        // A new span in the letter's trace, tracestate passed on, x-trace-cause naming the letter's span.
        const context = parseTraceparent(redriven!.headers[TRACE_HEADERS.traceparent], redriven!.headers[TRACE_HEADERS.tracestate]);
        expect(context).toEqual({
          traceId: TRACE_ID,
          parentId: expect.stringMatching(/^[0-9a-f]{16}$/),
          flags: 1,
          traceState: 'rojo=00f067aa0ba902b7',
        });
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

  it('redrives only the letter --offset names', async () => {
    // Prepare: three letters from a source topic of their own.
    const source = `${prefix}redrive-one-source`;
    await createTopic(source);
    const consumer = pipeline.consumers.find((candidate) => candidate.name === 'merchant-directory')!;
    const producer = orderedProducer(services.kafka);
    await producer.connect();
    await new KafkaDeadLetterPublisher(producer, `${prefix}merchants.dlq`, consumer.eventSource.consumerGroupId)
      .publish(
        ['r-1', 'r-2', 'r-3'].map((key, index) => ({
          record: {
            topic: source,
            partition: 0,
            offset: index,
            timestamp: Date.now(),
            timestampType: 'CREATE_TIME',
            key: Buffer.from(key),
            value: Buffer.from(`{"n":${index}}`),
            headers: [],
          },
          reason: 'RetryAttemptsExhausted',
          error: 'Error: downstream unavailable',
          attempts: 1,
        })),
      )
      .finally(() => producer.disconnect());
    const letters = (
      JSON.parse((await platform(['dlq', 'list', 'merchant-directory', '--json'])).stdout) as {
        letters: Array<{ key: string; partition: number; offset: number }>;
      }
    ).letters;
    const at = (key: string) => letters.filter((letter) => letter.key === key).map((letter) => `${letter.partition}:${letter.offset}`)[0]!;

    // Act: the middle one alone, again, then everything pending, then once more.
    const one = await platform(['dlq', 'redrive', 'merchant-directory', '--offset', at('r-2'), '--json']);
    const afterOne = await readTopic(services.kafka, source, 1);
    const endAfterOne = await endOffset(source);
    const oneAgain = await platform(['dlq', 'redrive', 'merchant-directory', '--offset', at('r-2')]);
    const rest = await platform(['dlq', 'redrive', 'merchant-directory', '--json']);
    const none = await platform(['dlq', 'redrive', 'merchant-directory', '--json']);
    const earlierAgain = await platform(['dlq', 'redrive', 'merchant-directory', '--offset', at('r-1'), '--json']);
    const missing = await platform(['dlq', 'redrive', 'merchant-directory', '--offset', '0:999999']);

    // Assess: r-2 went alone, exactly once; the full redrive sent the other two and skipped it.
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual({
      consumer: 'merchant-directory',
      topic: `${prefix}merchants.dlq`,
      offset: at('r-2'),
      redriven: 1,
      alreadyRedriven: 0,
    });
    expect(afterOne.map((record) => record.key)).toEqual(['r-2']);
    expect(endAfterOne).toBe(2); // the record and its transaction's commit marker
    expect(oneAgain.code).toBe(0);
    expect(oneAgain.stdout).toBe(
      `the letter ${at('r-2')} of merchant-directory in ${prefix}merchants.dlq had been redriven before: nothing sent\n`,
    );
    expect(JSON.parse(rest.stdout)).toMatchObject({ redriven: 2 });
    expect(JSON.parse(none.stdout)).toMatchObject({ redriven: 0 });
    expect(JSON.parse(earlierAgain.stdout)).toMatchObject({ redriven: 0, alreadyRedriven: 1 });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: no letter of merchant-directory at 0:999999 in .*merchants\.dlq/);
    const sent = await readTopic(services.kafka, source, 3);
    expect(sent.map((record) => record.key).sort()).toEqual(['r-1', 'r-2', 'r-3']);
    expect(await endOffset(source)).toBe(5); // r-2 and a marker, then r-1 and r-3 in one transaction and its marker
  });

  it('lists a consumer group that has not committed yet, with its lag from the start', async () => {
    // Prepare: a consumer stuck on its first batch (joined, committing nothing), and a declared consumer that never ran.
    const topic = `${prefix}stuck-input`;
    await createTopic(topic);
    await produce(services.kafka, topic, [
      { key: 'a', value: '{"n":1}' },
      { key: 'b', value: '{"n":2}' },
    ]);
    const stuck = services.kafka.consumer({ groupId: `${prefix}stuck` });
    await stuck.connect();
    await stuck.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      stuck.on(stuck.events.GROUP_JOIN, () => resolve());
      void stuck.run({ autoCommit: false, eachMessage: async () => undefined });
    });
    const prices = pipeline.hotStreams[0]!.consumer;
    await produce(services.kafka, prices.topic.name, [{ key: 'i-1', value: '{}' }]);

    // Act
    const json = await platform(['topics', '--json']).finally(() => undefined);
    const text = await platform(['topics']);
    await stuck.disconnect();

    // Assess
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as Array<{ topic: string; lag: Record<string, number>; noCommitYet: Record<string, string> }>;
    expect(rows.find((row) => row.topic === topic)).toMatchObject({
      records: 2,
      lag: { [`${prefix}stuck`]: 2 },
      noCommitYet: { [`${prefix}stuck`]: 'beginning' },
    });
    const declared = rows.find((row) => row.topic === prices.topic.name)!;
    expect(declared.lag[prices.eventSource.consumerGroupId]).toBeGreaterThanOrEqual(1);
    expect(declared.noCommitYet[prices.eventSource.consumerGroupId]).toBe('beginning');
    expect(text.stdout).toMatch(
      new RegExp(
        `^${topic.replace(/\./g, '\\.')} .* lag: ${prefix.replace(/\./g, '\\.')}stuck=2 \\(no commit yet, from the beginning\\)$`,
        'm',
      ),
    );
  });

  it('refuses a key that disagrees with the entity id', async () => {
    const merchants = `${prefix}merchants`;
    const before = await endOffset(merchants);
    const input = [
      { key: 'm-20', value: { merchantId: 'm-20', name: 'Right', country: 'DE', website: null } },
      { key: 'm-21', value: { merchantId: 'm-99', name: 'Wrong', country: 'DE', website: null } },
      { key: 'm-22', value: null },
    ];

    const run = await platform(['produce', merchants], input.map((line) => JSON.stringify(line)).join('\n'));

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /nothing produced to ".*merchants":\n {2}line 2: key "m-21" is not the entity's id \(merchantId is "m-99"\)/,
    );
    expect(run.stderr).not.toMatch(/line [13]:/);
    expect(await endOffset(merchants)).toBe(before);
  });

  it('exits 2 on every usage error', async () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['an unknown command', ['frobnicate'], /unknown command "frobnicate"/],
      ['an unknown flag', ['topics', '--bogus'], /Unknown option '--bogus'/],
      ['a flag of another command', ['topics', '--max', '3'], /--max is an option of tail only, not of topics/],
      ['an extra argument', ['topics', 'extra'], /topics takes no arguments, got 1 \(extra\)/],
      ['a missing argument', ['state', 'only-a-join'], /state is missing an argument: platform state <join or hot stream> <key>/],
      ['a missing option value', ['tail', 'x', '--max'], /--max/],
      ['a bad number', ['tail', 'x', '--max', '0'], /--max must be a whole number ≥ 1, got "0"/],
      ['a bad time', ['tail', 'x', '--from', 'yesterday'], /--from must be "beginning", "end" or an ISO time/],
      ['a bad replay position', ['replay', 'merchant-directory', '--from', 'beginning'], /--from must be "earliest" or an ISO time/],
      ['an unknown dlq action', ['dlq', 'purge', 'merchant-directory'], /dlq needs an action: list, show or redrive, got "purge"/],
      ['dlq show without --offset', ['dlq', 'show', 'merchant-directory'], /dlq show needs --offset <partition>:<offset>/],
      ['a bad --offset', ['dlq', 'redrive', 'merchant-directory', '--offset', '7'], /--offset must be <partition>:<offset>/],
      ['an unknown consumer', ['dlq', 'list', 'nobody'], /no consumer "nobody" in pipeline/],
      ['an unknown join', ['state', 'nothing', 'k'], /no join or hot stream "nothing" in pipeline .*joins: .*hot streams: /],
      ['an undeclared topic', ['produce', 'undeclared'], /topic "undeclared" is not declared in pipeline/],
      ['an unknown schemas action', ['schemas', 'frob'], /schemas needs an action: check or publish/],
      ['a bad --auth', ['topics', '--auth', 'password'], /--auth must be none or aws-iam/],
      ['a missing --pipeline module', ['topics', '--pipeline', 'no-such-pipeline.ts'], /--pipeline .*no-such-pipeline\.ts: no such module/],
    ];

    const runs = await Promise.all(
      cases.map(([, args]) =>
        runPlatform(args.includes('--pipeline') ? args : [...args, '--pipeline', CLI_PIPELINE], {
          env: { ...process.env, CLI_TEST_PREFIX: prefix },
        }),
      ),
    );

    runs.forEach((run, index) => {
      const [what, , message] = cases[index]!;
      expect({ what, code: run.code, stderr: run.stderr }).toEqual({ what, code: 2, stderr: expect.stringMatching(message) });
      expect(run.stderr).toMatch(/\nRun with --help for usage\.\n$/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    });
  });

  it('says the platform is not running when nothing answers', async () => {
    const closed = await closedPort();
    const { KAFKA_BROKERS: _brokers, DYNAMODB_ENDPOINT: _dynamodb, ...env } = process.env;

    const started = Date.now();
    const local = await runPlatform(['topics', '--pipeline', CLI_PIPELINE], {
      env: { ...env, CLI_TEST_PREFIX: prefix, LOCAL_KAFKA_PORT: String(closed) },
    });
    const elapsed = Date.now() - started;
    const named = await runPlatform(['topics', '--pipeline', CLI_PIPELINE, '--brokers', `127.0.0.1:${closed}`], {
      env: { ...process.env, CLI_TEST_PREFIX: prefix },
    });

    expect(local.code).toBe(1);
    expect(local.stderr).toBe(
      `error: the platform is not running: start it with \`npm start\` (nothing answered at Kafka 127.0.0.1:${closed})\n`,
    );
    expect(elapsed).toBeLessThan(10_000);
    // Brokers the user named are not `npm start`'s: the connection failure is explained, never a raw KafkaJS error.
    expect(named.code).toBe(1);
    expect(named.stderr).toMatch(
      new RegExp(`^error: could not connect to Kafka at 127\\.0\\.0\\.1:${closed}, plaintext \\(connect ECONNREFUSED`),
    );
    expect(named.stderr).not.toMatch(/KafkaJS/);
  });

  it('reports a syntax error in a --pipeline module without a backtrace', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'pipeline-'));
    const file = join(directory, 'broken-pipeline.ts');
    writeFileSync(
      file,
      ['import { definePipeline } from "../../shared/pipeline";', 'export default definePipeline({ name: "x", topics: [ });', ''].join(
        '\n',
      ),
    );

    const run = await runPlatform(['topics', '--pipeline', file]);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      new RegExp(
        `^error: --pipeline ${file.replace(/[.\\/]/g, '\\$&')} does not compile: ${file.replace(/[.\\/]/g, '\\$&')}:2:\\d+: Expression expected\n`,
      ),
    );
    expect(run.stderr).not.toMatch(/backtrace|_ZN|<unknown>|\n\s+at /);
    expect(run.stderr.split('\n').length).toBeLessThanOrEqual(6);
  });

  const endOffset = (topic: string) => recordCount(services.kafka, topic);

  /** A port nothing listens on: taken from the system, then released. */
  const closedPort = () =>
    new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });

  /** A topic of one partition the pipeline does not declare (its records are JSON to the CLI). */
  const createTopic = async (topic: string) => {
    await services.admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  };
});
