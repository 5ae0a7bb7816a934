import type { KafkaMessage } from 'kafkajs';
import { DEAD_LETTER_HEADERS } from '../../dead-letter';
import { readPartitionRange } from '../../kafka';
import type { Consumer } from '../../pipeline';
import { CliError, consumerNamed, deadLetterTopicOf, UsageError, type CliContext } from '../context';
import { headersAsText, printable } from './record-format';
import { printedTrace, redrivenTraceHeaders } from './record-trace';

interface Letter {
  readonly partition: number;
  readonly offset: number;
  readonly message: KafkaMessage;
  readonly headers: Record<string, string>;
}

/** The group that remembers which letters of a consumer were redriven (its committed offsets). */
function redriveGroup(consumer: Consumer): string {
  return `platform-cli.redrive.${consumer.eventSource.consumerGroupId}`;
}

/** Every letter of a dead-letter topic that came from this consumer, oldest first per partition. */
async function lettersOf(context: CliContext, consumer: Consumer, topic: string): Promise<Letter[]> {
  const admin = (await context.kafka()).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const letters: Letter[] = [];
  for (const bounds of offsets) {
    if (Number(bounds.high) <= Number(bounds.low)) continue;
    const { messages } = await readPartitionRange(await context.kafka(), topic, bounds.partition, Number(bounds.low), Number(bounds.high) - 1, { reader: 'cli' });
    for (const message of messages) {
      const headers = headersAsText(message.headers ?? {});
      // The event source names the consumer group; a handler dead-lettering itself names the consumer. Only a
      // letter naming neither falls back to its source topic (two consumers of one topic may share a DLQ).
      const from = headers[DEAD_LETTER_HEADERS.consumerGroupId];
      const ours = from === undefined ? headers[DEAD_LETTER_HEADERS.sourceTopic] === consumer.topic.name : from === consumer.eventSource.consumerGroupId || from === consumer.name;
      if (ours) {
        letters.push({ partition: bounds.partition, offset: Number(message.offset), message, headers });
      }
    }
  }
  return letters;
}

function summary(letter: Letter) {
  const traceId = printedTrace(letter.message.headers)?.traceId;
  return {
    partition: letter.partition,
    offset: letter.offset,
    key: letter.message.key?.toString('utf8') ?? null,
    reason: letter.headers[DEAD_LETTER_HEADERS.reason],
    error: letter.headers[DEAD_LETTER_HEADERS.error],
    source: `${letter.headers[DEAD_LETTER_HEADERS.sourceTopic]}-${letter.headers[DEAD_LETTER_HEADERS.sourcePartition]}@${letter.headers[DEAD_LETTER_HEADERS.sourceOffset]}`,
    failedAt: letter.headers[DEAD_LETTER_HEADERS.failedAt],
    // The trace of the record that failed (a letter keeps its headers); absent when it had none.
    ...(traceId === undefined ? {} : { traceId }),
  };
}

/** `dlq list|show|redrive <consumer> [--offset P:O]`. */
export async function dlqCommand(context: CliContext, action: string | undefined, consumerName: string | undefined, at: string | undefined): Promise<void> {
  if (!action || !['list', 'show', 'redrive'].includes(action)) throw new UsageError('dlq needs an action: list, show or redrive');
  if (!consumerName) throw new UsageError(`dlq ${action} needs a consumer name`);
  const consumer = consumerNamed(context.pipeline, consumerName);
  const topic = deadLetterTopicOf(consumer);
  const letters = await lettersOf(context, consumer, topic);

  if (action === 'list') {
    const rows = letters.map(summary);
    context.print({ consumer: consumerName, topic, letters: rows }, () =>
      [`${rows.length} dead-lettered record(s) of ${consumerName} in ${topic}`, ...rows.map((row) => `  ${row.partition}:${row.offset} key=${row.key ?? '(none)'} trace=${row.traceId ?? '(none)'} from ${row.source} ${row.reason}: ${row.error}`)].join('\n'),
    );
    return;
  }
  if (action === 'show') {
    const [partition, offset] = (at ?? '').split(':').map(Number);
    const letter = letters.find((candidate) => candidate.partition === partition && candidate.offset === offset);
    if (!letter) throw new CliError(`no letter of ${consumerName} at ${at ?? '(give --offset <partition>:<offset>)'} in ${topic}`);
    // A letter keeps the bytes it failed with: decoded as its source topic's values are.
    const record = await printable(topic, letter.partition, letter.message, context.formatOf(letter.headers[DEAD_LETTER_HEADERS.sourceTopic] ?? ''));
    context.print(record, () => JSON.stringify(record, null, 2));
    return;
  }
  await redrive(context, consumer, topic, letters);
}

/**
 * Re-publishes each letter not redriven before to the topic it came from, as
 * it was (key, value, original headers), exactly once, as a child of its trace
 * (a new `traceparent` in the letter's trace, `x-trace-cause` naming the
 * letter's span; a new trace for a letter without one): the records and the
 * redrive group's new offsets are committed in one Kafka transaction, so a
 * crash or a second run never sends a letter twice. The memory is the redrive
 * group's committed offsets, which the broker keeps while
 * `offsets.retention.minutes` allows (7 days by default) after the last redrive.
 */
async function redrive(context: CliContext, consumer: Consumer, topic: string, letters: readonly Letter[]): Promise<void> {
  // Connecting the transactional producer first fences any earlier run still in a transaction, so the offsets read
  // next include everything a concurrent or crashed run committed.
  const producer = (await context.kafka()).producer({ transactionalId: redriveGroup(consumer), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let redriven = 0;
  let already = 0;
  try {
    const admin = (await context.kafka()).admin();
    await admin.connect();
    const [done] = await admin.fetchOffsets({ groupId: redriveGroup(consumer), topics: [topic] }).finally(() => admin.disconnect());
    const next = new Map((done?.partitions ?? []).map((partition) => [partition.partition, Number(partition.offset)]));
    const pending = letters.filter((letter) => letter.offset >= (next.get(letter.partition) ?? 0));
    already = letters.length - pending.length;
    // Transactions of bounded size, each well inside the transaction timeout.
    for (let start = 0; start < pending.length; start += REDRIVE_TRANSACTION_LETTERS) {
      const chunk = pending.slice(start, start + REDRIVE_TRANSACTION_LETTERS);
      const transaction = await producer.transaction();
      try {
        const bySource = new Map<string, Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, unknown> }>>();
        for (const letter of chunk) {
          const source = letter.headers[DEAD_LETTER_HEADERS.sourceTopic] ?? consumer.topic.name;
          const original = Object.fromEntries(Object.entries(letter.message.headers ?? {}).filter(([name]) => !name.startsWith('x-dead-letter-')));
          const messages = bySource.get(source) ?? [];
          // A new span of the letter's trace (x-trace-cause: the letter's span), or a new trace when it had none.
          messages.push({ key: letter.message.key, value: letter.message.value, headers: { ...redrivenTraceHeaders(original), 'x-redriven-from': `${topic}-${letter.partition}@${letter.offset}` } });
          bySource.set(source, messages);
        }
        await transaction.sendBatch({ acks: -1, topicMessages: [...bySource].map(([source, messages]) => ({ topic: source, messages: messages as never })) });
        const last = new Map<number, number>();
        for (const letter of chunk) last.set(letter.partition, Math.max(last.get(letter.partition) ?? -1, letter.offset));
        await transaction.sendOffsets({
          consumerGroupId: redriveGroup(consumer),
          topics: [{ topic, partitions: [...last].map(([partition, offset]) => ({ partition, offset: String(offset + 1) })) }],
        });
        await transaction.commit();
        redriven += chunk.length;
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    }
  } finally {
    await producer.disconnect();
  }
  context.print({ consumer: consumer.name, topic, redriven, alreadyRedriven: already }, () =>
    `redrove ${redriven} record(s) of ${consumer.name} from ${topic} to their source topic; ${already} had been redriven before`,
  );
}

const REDRIVE_TRANSACTION_LETTERS = 500;
