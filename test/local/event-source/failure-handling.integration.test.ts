import type { Admin } from 'kafkajs';
import { DEAD_LETTER_HEADERS } from '../../../shared/dead-letter';
import type { MskEvent, MskHandler } from '../../../shared/msk';
import type { EventSourceSettings } from '../../../shared/pipeline';
import {
  committedOffsets,
  decodedRecords,
  eventually,
  mappingFor,
  produce,
  readTopic,
  singleConsumerPipeline,
  useTestServices,
  whileRunning,
} from '../../support/integration';

/** What one invocation of the handler was given. */
interface Invocation {
  readonly offsets: number[];
  readonly keys: (string | null)[];
}

function invocationOf(event: MskEvent): Invocation {
  const records = decodedRecords(event);
  return { offsets: records.map((record) => record.offset), keys: records.map((record) => record.key) };
}

/** The topic's end offset on one partition: how many records were ever written there. */
async function endOffset(admin: Admin, topic: string, partition = 0): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return Number(offsets.find((entry) => entry.partition === partition)?.high ?? 0);
}

const range = (count: number) => Array.from({ length: count }, (_, index) => index);
const messages = (prefix: string, count: number) =>
  range(count).map((index) => ({ key: `${prefix}-${index}`, value: `${prefix} ${index}` }));

describe('Class: EventSourceMapping — failure handling (integration)', () => {
  const services = useTestServices('failure-handling-test');
  /** {@link singleConsumerPipeline} with `onFailure` pointing at its own dead-letter topic. */
  const deadLetteringPipeline = (eventSource: EventSourceSettings) =>
    singleConsumerPipeline(services.admin, { eventSource, deadLetterOnFailure: true });

  it('retries the whole batch, with the same offsets, until the handler succeeds, dead-lettering nothing', async () => {
    // Prepare
    const { pipeline, sourceTopic, deadLetterTopic, groupId } = await deadLetteringPipeline({ maximumRetryAttempts: 2 });
    await produce(services.kafka, sourceTopic, messages('item', 5));
    const invocations: Invocation[] = [];
    const mapping = mappingFor(services, pipeline, async (event) => {
      invocations.push(invocationOf(event));
      if (invocations.length <= 2) throw new Error(`transient failure ${invocations.length}`);
    });

    // Act
    await whileRunning(mapping, () =>
      eventually('the batch succeeded on its third invocation', () => mapping.stats.recordsSucceeded === 5),
    );

    // Assess
    expect(invocations.map((invocation) => invocation.offsets)).toEqual([range(5), range(5), range(5)]);
    expect(mapping.stats).toMatchObject({ invocations: 3, failedInvocations: 2, recordsDeadLettered: 0, recordsDiscarded: 0 });
    expect(await endOffset(services.admin, deadLetterTopic)).toBe(0);
    expect((await committedOffsets(services.admin, groupId, sourceTopic)).get(0)).toBe(5);
  });

  it('retries until success by default: no retry limit and no on-failure destination', async () => {
    // Prepare
    const failures = 12; // more than the 10 retries AWS allows when a destination is set
    const { pipeline, sourceTopic, groupId } = await singleConsumerPipeline(services.admin);
    const settings = pipeline.consumers[0]!.eventSource;
    await produce(services.kafka, sourceTopic, messages('item', 3));
    const invocations: Invocation[] = [];
    const mapping = mappingFor(services, pipeline, async (event) => {
      invocations.push(invocationOf(event));
      if (invocations.length <= failures) throw new Error('still failing');
    });

    // Act
    await whileRunning(mapping, () => eventually('the records were eventually handled', () => mapping.stats.recordsSucceeded === 3));

    // Assess
    expect(settings.maximumRetryAttempts).toBe(-1);
    expect(settings.onFailure).toBeUndefined();
    expect(invocations).toHaveLength(failures + 1);
    expect(invocations.every((invocation) => invocation.offsets.join() === '0,1,2')).toBe(true);
    expect(mapping.stats).toMatchObject({ recordsDiscarded: 0, recordsDeadLettered: 0 });
    expect((await committedOffsets(services.admin, groupId, sourceTopic)).get(0)).toBe(3);
  });

  it('dead-letters a batch after its retries, with the failure metadata', async () => {
    // Prepare
    const { pipeline, sourceTopic, deadLetterTopic, groupId } = await deadLetteringPipeline({ maximumRetryAttempts: 2 });
    const invocations: Invocation[] = [];
    const mapping = mappingFor(services, pipeline, async (event) => {
      const invocation = invocationOf(event);
      invocations.push(invocation);
      if (invocation.keys.some((key) => key?.startsWith('bad'))) throw new Error('cannot parse the record');
    });

    // Act
    const deadLetters = await whileRunning(mapping, async () => {
      await produce(services.kafka, sourceTopic, [
        { key: 'bad-0', value: 'bad 0', headers: { 'trace-id': 'trace-0' } },
        { key: 'bad-1', value: 'bad 1', headers: { 'trace-id': 'trace-1' } },
      ]);
      const dead = await readTopic(services.kafka, deadLetterTopic, 2);
      await eventually(
        'the offset moved past the dead-lettered records',
        async () => (await committedOffsets(services.admin, groupId, sourceTopic)).get(0) === 2,
      );
      await produce(services.kafka, sourceTopic, messages('good', 2));
      await eventually('the later records were handled', () => mapping.stats.recordsSucceeded === 2);
      return dead;
    });

    // Assess
    const failing = invocations.filter((invocation) => invocation.keys.includes('bad-0'));
    expect(failing).toHaveLength(3); // the first attempt and 2 retries
    expect(invocations.filter((invocation) => invocation.keys.includes('good-0'))).toEqual([
      { offsets: [2, 3], keys: ['good-0', 'good-1'] },
    ]);
    expect(deadLetters.map(({ key, value }) => ({ key, value }))).toEqual([
      { key: 'bad-0', value: 'bad 0' },
      { key: 'bad-1', value: 'bad 1' },
    ]);
    deadLetters.forEach((letter, offset) => {
      expect(letter.headers).toMatchObject({
        'trace-id': `trace-${offset}`,
        [DEAD_LETTER_HEADERS.reason]: 'RetryAttemptsExhausted',
        [DEAD_LETTER_HEADERS.error]: 'Error: cannot parse the record',
        [DEAD_LETTER_HEADERS.attempts]: '3',
        [DEAD_LETTER_HEADERS.sourceTopic]: sourceTopic,
        [DEAD_LETTER_HEADERS.sourcePartition]: '0',
        [DEAD_LETTER_HEADERS.sourceOffset]: String(offset),
        [DEAD_LETTER_HEADERS.consumerGroupId]: groupId,
      });
    });
    expect((await committedOffsets(services.admin, groupId, sourceTopic)).get(0)).toBe(4);
  });

  it('bisects a failing batch down to the poison record, dead-letters only that one and handles the rest', async () => {
    // Prepare
    const poisonOffset = 5;
    const { pipeline, sourceTopic, deadLetterTopic, groupId } = await deadLetteringPipeline({
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 1,
    });
    await produce(
      services.kafka,
      sourceTopic,
      range(8).map((offset) => ({ key: offset === poisonOffset ? 'poison' : `item-${offset}`, value: `record ${offset}` })),
    );
    const invocations: Invocation[] = [];
    const handled: number[] = [];
    const mapping = mappingFor(services, pipeline, async (event) => {
      const invocation = invocationOf(event);
      invocations.push(invocation);
      if (invocation.keys.includes('poison')) throw new Error('poison record');
      handled.push(...invocation.offsets);
    });

    // Act
    const [deadLetter] = await whileRunning(mapping, async () => {
      await eventually(
        'every record was handled or dead-lettered',
        async () => (await committedOffsets(services.admin, groupId, sourceTopic)).get(0) === 8,
      );
      return readTopic(services.kafka, deadLetterTopic, 1);
    });

    // Assess
    const withPoison = invocations.filter((invocation) => invocation.keys.includes('poison'));
    expect(withPoison.map((invocation) => invocation.offsets.length)).toEqual([8, 4, 2, 1, 1]); // halved, then 1 retry of the lone record
    expect(invocations[0]?.offsets).toEqual(range(8));
    expect(handled.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(deadLetter).toMatchObject({
      key: 'poison',
      headers: { [DEAD_LETTER_HEADERS.sourceOffset]: String(poisonOffset), [DEAD_LETTER_HEADERS.attempts]: '2' },
    });
    expect(await endOffset(services.admin, deadLetterTopic)).toBe(1);
    expect(mapping.stats).toMatchObject({ recordsSucceeded: 7, recordsDeadLettered: 1 });
  });

  it('commits the records before the first reported failure and resumes delivery from it', async () => {
    // Prepare
    const failedOffset = 2;
    const { pipeline, sourceTopic, groupId } = await singleConsumerPipeline(services.admin, {
      eventSource: { reportBatchItemFailures: true },
    });
    await produce(services.kafka, sourceTopic, messages('item', 5));
    const invocations: Array<Invocation & { committedBefore: number | undefined }> = [];
    const mapping = mappingFor(services, pipeline, async (event) => {
      const committedBefore = (await committedOffsets(services.admin, groupId, sourceTopic)).get(0);
      invocations.push({ ...invocationOf(event), committedBefore });
      if (invocations.length > 1) return { batchItemFailures: [] };
      return { batchItemFailures: [{ itemIdentifier: { partition: `${sourceTopic}-0`, offset: failedOffset } }] };
    });

    // Act
    await whileRunning(mapping, () =>
      eventually('every record was committed', async () => (await committedOffsets(services.admin, groupId, sourceTopic)).get(0) === 5),
    );

    // Assess
    expect(invocations.map(({ offsets, committedBefore }) => ({ offsets, committedBefore }))).toEqual([
      { offsets: [0, 1, 2, 3, 4], committedBefore: -1 },
      { offsets: [2, 3, 4], committedBefore: failedOffset },
    ]);
    expect(mapping.stats).toMatchObject({ invocations: 2, failedInvocations: 1, recordsSucceeded: 5 });
  });

  it.each([
    [
      'names an offset that is not in the batch',
      (partition: string) => ({ batchItemFailures: [{ itemIdentifier: { partition, offset: 99 } }] }),
    ],
    ['gives the item identifier as a string', (partition: string) => ({ batchItemFailures: [{ itemIdentifier: `${partition}:1` }] })],
    [
      'names another partition',
      (partition: string) => ({ batchItemFailures: [{ itemIdentifier: { partition: `${partition}0`, offset: 1 } }] }),
    ],
    ['is not an object', () => 'partially done'],
  ])('fails and retries the whole batch when the partial batch response %s', async (_description, invalidResponse) => {
    // Prepare
    const { pipeline, sourceTopic, groupId } = await singleConsumerPipeline(services.admin, {
      eventSource: { reportBatchItemFailures: true },
    });
    await produce(services.kafka, sourceTopic, messages('item', 3));
    const invocations: Array<Invocation & { committedBefore: number | undefined }> = [];
    const mapping = mappingFor(services, pipeline, async (event) => {
      const committedBefore = (await committedOffsets(services.admin, groupId, sourceTopic)).get(0);
      invocations.push({ ...invocationOf(event), committedBefore });
      return invocations.length === 1 ? invalidResponse(`${sourceTopic}-0`) : undefined;
    });

    // Act
    await whileRunning(mapping, () =>
      eventually('every record was committed', async () => (await committedOffsets(services.admin, groupId, sourceTopic)).get(0) === 3),
    );

    // Assess
    expect(invocations.map(({ offsets, committedBefore }) => ({ offsets, committedBefore }))).toEqual([
      { offsets: [0, 1, 2], committedBefore: -1 },
      { offsets: [0, 1, 2], committedBefore: -1 },
    ]);
    expect(mapping.stats).toMatchObject({ failedInvocations: 1, recordsSucceeded: 3 });
    expect(mapping.stats.lastError).toMatch(/^InvalidBatchResponseError: /);
  });

  it('dead-letters records older than the maximum record age without invoking the handler with them', async () => {
    // Prepare
    const { pipeline, sourceTopic, deadLetterTopic, groupId } = await deadLetteringPipeline({ maximumRecordAgeSeconds: 60 });
    const tenMinutesAgo = String(Date.now() - 10 * 60 * 1000);
    await produce(services.kafka, sourceTopic, [
      { key: 'old-0', value: 'old 0', timestamp: tenMinutesAgo },
      { key: 'fresh-0', value: 'fresh 0' },
      { key: 'old-1', value: 'old 1', timestamp: tenMinutesAgo },
      { key: 'fresh-1', value: 'fresh 1' },
    ]);
    const seenKeys: (string | null)[] = [];
    const mapping = mappingFor(services, pipeline, async (event) => {
      seenKeys.push(...invocationOf(event).keys);
    });

    // Act
    const deadLetters = await whileRunning(mapping, async () => {
      await eventually(
        'every record was handled or dead-lettered',
        async () => (await committedOffsets(services.admin, groupId, sourceTopic)).get(0) === 4,
      );
      return readTopic(services.kafka, deadLetterTopic, 2);
    });

    // Assess
    expect(seenKeys).toEqual(['fresh-0', 'fresh-1']);
    expect(deadLetters.map((letter) => letter.key)).toEqual(['old-0', 'old-1']);
    for (const letter of deadLetters) {
      expect(letter.headers).toMatchObject({
        [DEAD_LETTER_HEADERS.reason]: 'RecordAgeExceeded',
        [DEAD_LETTER_HEADERS.attempts]: '0',
        [DEAD_LETTER_HEADERS.sourceTimestamp]: tenMinutesAgo,
      });
    }
    expect(mapping.stats).toMatchObject({ invocations: 1, recordsSucceeded: 2, recordsDeadLettered: 2 });
  });

  it('keeps handling the other partitions while one partition retries a poison record', async () => {
    // Prepare
    const { pipeline, sourceTopic, groupId } = await singleConsumerPipeline(services.admin, { partitions: 3 });
    await produce(services.kafka, sourceTopic, [
      { partition: 0, key: 'poison', value: 'never handled' },
      { partition: 0, key: 'behind-poison', value: 'blocked behind the poison record' },
      ...[1, 2].flatMap((partition) => messages(`p${partition}`, 4).map((message) => ({ ...message, partition }))),
    ]);
    const handledKeys: (string | null)[] = [];
    let poisonAttempts = 0;
    const handler: MskHandler = async (event) => {
      const { keys } = invocationOf(event);
      if (keys.includes('poison')) {
        poisonAttempts += 1;
        throw new Error('poison record');
      }
      handledKeys.push(...keys);
    };
    const mapping = mappingFor(services, pipeline, handler);

    // Act
    const committed = await whileRunning(mapping, async () => {
      await eventually('partitions 1 and 2 were fully committed', async () => {
        const offsets = await committedOffsets(services.admin, groupId, sourceTopic);
        return offsets.get(1) === 4 && offsets.get(2) === 4;
      });
      await eventually('the poison record was retried again meanwhile', () => poisonAttempts >= 3);
      return committedOffsets(services.admin, groupId, sourceTopic);
    });

    // Assess
    expect([...handledKeys].sort()).toEqual([...messages('p1', 4), ...messages('p2', 4)].map((message) => message.key).sort());
    expect(handledKeys).not.toContain('behind-poison');
    expect(committed.get(0)).toBe(-1);
    expect(mapping.stats.recordsDiscarded).toBe(0);
  });

  it('fails an invocation that outlives the function timeout with "Task timed out" and retries the batch', async () => {
    // Prepare
    const { pipeline, sourceTopic, groupId } = await singleConsumerPipeline(services.admin, { consumer: { timeoutSeconds: 1 } });
    await produce(services.kafka, sourceTopic, messages('item', 2));
    let release = () => {};
    const hung = new Promise<void>((resolve) => (release = resolve));
    const invocations: Invocation[] = [];
    const mapping = mappingFor(services, pipeline, async (event) => {
      invocations.push(invocationOf(event));
      if (invocations.length === 1) await hung;
    });

    // Act
    try {
      await whileRunning(mapping, () =>
        eventually(
          'the retried batch was committed',
          async () => (await committedOffsets(services.admin, groupId, sourceTopic)).get(0) === 2,
        ),
      );
    } finally {
      release();
    }

    // Assess
    expect(invocations.map((invocation) => invocation.offsets)).toEqual([
      [0, 1],
      [0, 1],
    ]);
    expect(mapping.stats.failedInvocations).toBeGreaterThanOrEqual(1);
    expect(mapping.stats.lastError).toContain('Task timed out');
    expect(mapping.stats.recordsSucceeded).toBe(2);
  });
});
