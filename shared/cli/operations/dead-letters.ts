import type { KafkaMessage } from 'kafkajs';
import { DEAD_LETTER_HEADERS } from '../../dead-letter';
import { readPartitionRange } from '../../kafka';
import type { Consumer } from '../../pipeline';
import { CliError, NotFoundError, UsageError } from '../errors';
import type { PlatformAccess } from './platform-access';
import { consumerNamed, deadLetterTopicOf } from './pipeline-parts';
import { headersAsText, printable, type PrintedRecord } from './record-format';
import { printedTrace, redrivenTraceHeaders } from './record-trace';

// A consumer's dead letters: listed, shown in full, and redriven to their source topic exactly once each.
// `platform dlq` prints these; the console serves them.

/** One dead-lettered record of a consumer: where it sits, the record as kept, its headers as text. */
export interface Letter {
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
async function lettersIn(access: PlatformAccess, consumer: Consumer, topic: string): Promise<Letter[]> {
  const admin = (await access.kafka()).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const letters: Letter[] = [];
  for (const bounds of offsets) {
    if (Number(bounds.high) <= Number(bounds.low)) continue;
    const { messages } = await readPartitionRange(
      await access.kafka(),
      topic,
      bounds.partition,
      Number(bounds.low),
      Number(bounds.high) - 1,
      { reader: 'cli' },
    );
    for (const message of messages) {
      const headers = headersAsText(message.headers ?? {});
      // The event source names the consumer group; a handler dead-lettering itself names the consumer. Only a
      // letter naming neither falls back to its source topic (two consumers of one topic may share a DLQ).
      const from = headers[DEAD_LETTER_HEADERS.consumerGroupId];
      const ours =
        from === undefined
          ? headers[DEAD_LETTER_HEADERS.sourceTopic] === consumer.topic.name
          : from === consumer.eventSource.consumerGroupId || from === consumer.name;
      if (ours) {
        letters.push({ partition: bounds.partition, offset: Number(message.offset), message, headers });
      }
    }
  }
  return letters;
}

export type LetterSummary = ReturnType<typeof letterSummary>;

/** One line of a list: where the letter is, its key, why it failed, where it came from, its trace. */
export function letterSummary(letter: Letter) {
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

/** A consumer's dead-letter topic and every letter in it that came from this consumer (an unknown consumer: UsageError). */
export async function deadLettersOf(
  access: PlatformAccess,
  consumerName: string,
): Promise<{ consumer: Consumer; topic: string; letters: Letter[] }> {
  const consumer = consumerNamed(access.pipeline, consumerName);
  const topic = deadLetterTopicOf(consumer);
  return { consumer, topic, letters: await lettersIn(access, consumer, topic) };
}

/** The letter at a position, or a clear error naming where to look. */
export function letterAt(letters: readonly Letter[], consumer: Consumer, topic: string, position: LetterPosition): Letter {
  const letter = letters.find((candidate) => candidate.partition === position.partition && candidate.offset === position.offset);
  if (!letter)
    throw new NotFoundError(
      `no letter of ${consumer.name} at ${position.partition}:${position.offset} in ${topic} (dlq list ${consumer.name} shows them)`,
    );
  return letter;
}

/** A letter in full: it keeps the bytes it failed with, decoded as its source topic's values are. */
export function letterInFull(access: PlatformAccess, topic: string, letter: Letter): Promise<PrintedRecord> {
  return printable(topic, letter.partition, letter.message, access.formatOf(letter.headers[DEAD_LETTER_HEADERS.sourceTopic] ?? ''));
}

/** Where a letter sits in its dead-letter topic. */
export interface LetterPosition {
  readonly partition: number;
  readonly offset: number;
}

/** `<partition>:<offset>` as `dlq list` shows it, both whole numbers; `what` names the value in the error (`--offset`). */
export function parseLetterPosition(text: string, what: string): LetterPosition {
  const match = /^(\d+):(\d+)$/.exec(text);
  if (!match) throw new UsageError(`${what} must be <partition>:<offset> as dlq list shows them, such as 0:12, got "${text}"`);
  return { partition: Number(match[1]), offset: Number(match[2]) };
}

/** What a redrive did: letters sent now, and letters an earlier redrive had sent (skipped). */
export interface RedriveOutcome {
  readonly consumer: string;
  readonly topic: string;
  /** Set when one letter was asked for: `<partition>:<offset>`. */
  readonly offset?: string;
  readonly redriven: number;
  readonly alreadyRedriven: number;
}

/**
 * What the redrive group remembers of one partition of the dead-letter topic:
 * every letter below `next` was redriven (or is not this consumer's), and so
 * was each offset in `ahead`, redriven on its own with `--offset` while
 * letters before it were still pending.
 */
interface Progress {
  readonly next: number;
  readonly ahead: ReadonlySet<number>;
}

/** Kept in the committed offset's metadata, which the broker limits (`offset.metadata.max.bytes`, 4096 by default). */
const AHEAD_METADATA_BYTES = 4000;

function progressOf(offset: string, metadata: string | null | undefined): Progress {
  let ahead: number[] = [];
  try {
    const parsed = metadata ? (JSON.parse(metadata) as { redrivenAhead?: unknown }) : {};
    if (Array.isArray(parsed.redrivenAhead)) ahead = parsed.redrivenAhead.filter((entry): entry is number => Number.isInteger(entry));
  } catch {
    // Metadata this CLI did not write: no letter redriven ahead.
  }
  return { next: Math.max(0, Number(offset)), ahead: new Set(ahead) };
}

function isRedriven(progress: Progress | undefined, letter: Letter): boolean {
  return progress !== undefined && (letter.offset < progress.next || progress.ahead.has(letter.offset));
}

/** The metadata that records `ahead` (the offsets at or past `next` only), or null for none. */
function aheadMetadata(next: number, ahead: Iterable<number>): string | null {
  const kept = [...ahead].filter((offset) => offset >= next).sort((a, b) => a - b);
  if (kept.length === 0) return null;
  const metadata = JSON.stringify({ redrivenAhead: kept });
  if (Buffer.byteLength(metadata) > AHEAD_METADATA_BYTES) {
    throw new CliError(
      `too many letters redriven one by one ahead of pending ones (${kept.length}) to remember: redrive the pending ones first (dlq redrive without --offset)`,
    );
  }
  return metadata;
}

/**
 * Re-publishes each letter not redriven before (or with `--offset`, that one
 * letter only) to the topic it came from, as it was (key, value, original
 * headers), exactly once, as a child of its trace (a new `traceparent` in the
 * letter's trace, `x-trace-cause` naming the letter's span; a new trace for a
 * letter without one): the records and the redrive group's new progress are
 * committed in one Kafka transaction, so a crash or a second run never sends a
 * letter twice. The memory is the redrive group's committed offsets, which the
 * broker keeps while `offsets.retention.minutes` allows (7 days by default)
 * after the last redrive.
 *
 * Progress per partition is the committed offset (every letter of this
 * consumer below it is redriven) plus, in that offset's metadata, the letters
 * at or past it that `--offset` redrove on their own while earlier ones were
 * still pending. A full redrive skips those; a single redrive of the next
 * pending letter moves the offset past it and past any redriven ahead of it.
 */
export async function redriveLetters(
  access: PlatformAccess,
  consumer: Consumer,
  topic: string,
  letters: readonly Letter[],
  only: Letter | undefined,
): Promise<RedriveOutcome> {
  // Connecting the transactional producer first fences any earlier run still in a transaction, so the offsets read
  // next include everything a concurrent or crashed run committed.
  const producer = (await access.kafka()).producer({ transactionalId: redriveGroup(consumer), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let redriven = 0;
  let already = 0;
  try {
    const admin = (await access.kafka()).admin();
    await admin.connect();
    const [done] = await admin.fetchOffsets({ groupId: redriveGroup(consumer), topics: [topic] }).finally(() => admin.disconnect());
    const progress = new Map(
      (done?.partitions ?? []).map((partition) => [
        partition.partition,
        progressOf(partition.offset, (partition as { metadata?: string | null }).metadata),
      ]),
    );
    const considered = only ? [only] : letters;
    const pending = considered.filter((letter) => !isRedriven(progress.get(letter.partition), letter));
    already = considered.length - pending.length;
    // Transactions of bounded size, each well inside the transaction timeout.
    for (let start = 0; start < pending.length; start += REDRIVE_TRANSACTION_LETTERS) {
      const chunk = pending.slice(start, start + REDRIVE_TRANSACTION_LETTERS);
      const transaction = await producer.transaction();
      try {
        const bySource = new Map<string, Array<{ key: Buffer | null; value: Buffer | null; headers: Record<string, unknown> }>>();
        for (const letter of chunk) {
          const source = letter.headers[DEAD_LETTER_HEADERS.sourceTopic] ?? consumer.topic.name;
          const original = Object.fromEntries(
            Object.entries(letter.message.headers ?? {}).filter(([name]) => !name.startsWith('x-dead-letter-')),
          );
          const messages = bySource.get(source) ?? [];
          // A new span of the letter's trace (x-trace-cause: the letter's span), or a new trace when it had none.
          messages.push({
            key: letter.message.key,
            value: letter.message.value,
            headers: { ...redrivenTraceHeaders(original), 'x-redriven-from': `${topic}-${letter.partition}@${letter.offset}` },
          });
          bySource.set(source, messages);
        }
        await transaction.sendBatch({
          acks: -1,
          topicMessages: [...bySource].map(([source, messages]) => ({ topic: source, messages: messages as never })),
        });
        const partitions = only ? progressAfterOne(progress, letters, only) : progressAfterChunk(progress, chunk);
        await transaction.sendOffsets({ consumerGroupId: redriveGroup(consumer), topics: [{ topic, partitions: partitions as never }] });
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
  return {
    consumer: consumer.name,
    topic,
    ...(only === undefined ? {} : { offset: `${only.partition}:${only.offset}` }),
    redriven,
    alreadyRedriven: already,
  };
}

/** The progress to commit with a chunk of a full redrive: past its last letter per partition, keeping later ones redriven ahead. */
function progressAfterChunk(
  progress: Map<number, Progress>,
  chunk: readonly Letter[],
): Array<{ partition: number; offset: string; metadata: string | null }> {
  const last = new Map<number, number>();
  for (const letter of chunk) last.set(letter.partition, Math.max(last.get(letter.partition) ?? -1, letter.offset));
  return [...last].map(([partition, offset]) => {
    const ahead = progress.get(partition)?.ahead ?? new Set<number>();
    // Letters redriven ahead right after this chunk need no memory of their own: the offset moves past them.
    let next = offset + 1;
    while (ahead.has(next)) next += 1;
    const updated = { next, ahead };
    progress.set(partition, updated);
    return { partition, offset: String(next), metadata: aheadMetadata(next, ahead) };
  });
}

/**
 * The progress to commit with one letter redriven on its own: the offset moves
 * to this consumer's first letter still pending in the partition (past the
 * letter when it was the next one), and the letter is remembered as redriven
 * ahead when earlier ones are still pending.
 */
function progressAfterOne(
  progress: Map<number, Progress>,
  letters: readonly Letter[],
  only: Letter,
): Array<{ partition: number; offset: string; metadata: string | null }> {
  const before = progress.get(only.partition) ?? { next: 0, ahead: new Set<number>() };
  const ahead = new Set([...before.ahead, only.offset]);
  const stillPending = letters
    .filter((letter) => letter.partition === only.partition && letter.offset >= before.next && !ahead.has(letter.offset))
    .map((letter) => letter.offset);
  const next = stillPending.length > 0 ? Math.min(...stillPending) : Math.max(before.next, ...[...ahead].map((offset) => offset + 1));
  return [{ partition: only.partition, offset: String(next), metadata: aheadMetadata(next, ahead) }];
}

const REDRIVE_TRANSACTION_LETTERS = 500;
