import { AssignerProtocol, type Admin } from 'kafkajs';
import { describeCdcSourceStatus, type CdcSourceStatus } from '../../local/cdc-status';
import { captureStatuses } from '../capture-status';
import type { CliContext } from '../context';

interface TopicRow {
  readonly topic: string;
  readonly partitions: number;
  /** Sum of the partitions' end offsets. */
  readonly records: number;
  /** Per consumer group reading the topic: records not yet committed (for a group in {@link noCommitYet}, from where it starts). */
  readonly lag: Record<string, number>;
  /**
   * The groups in `lag` that have committed nothing on the topic yet (a consumer
   * stuck on its first batch looks like this), with where their lag is counted
   * from: `beginning`, `end`, or an ISO time, as the pipeline declares the
   * consumer's starting position; `beginning` for a group it does not declare.
   */
  readonly noCommitYet: Record<string, string>;
  /** On a CDC change topic: the connector that writes it, its state and its replication slot's lag. */
  readonly capture?: CdcSourceStatus;
}

/** A group reading a topic without a commit on it: where it starts reading. */
interface Uncommitted {
  readonly groupId: string;
  readonly topic: string;
  readonly from: 'beginning' | 'end' | number;
}

/**
 * `topics`: every topic with its partitions, end offsets and the lag of each
 * consumer group on it: the groups with commits, and those without any yet
 * (members subscribed to it, or a consumer the pipeline declares on it), their
 * lag counted from where they start.
 */
export async function topicsCommand(context: CliContext): Promise<void> {
  const admin = (await context.kafka()).admin();
  await admin.connect();
  try {
    const names = (await admin.listTopics()).filter((name) => !name.startsWith('__')).sort();
    const groups = (await admin.listGroups()).groups.map((group) => group.groupId);
    const committed = await Promise.all(groups.map(async (groupId) => ({ groupId, topics: await admin.fetchOffsets({ groupId }) })));
    const readers = [...(await subscribedGroups(admin, groups)), ...declaredGroups(context)];
    const captures = new Map((await captureStatuses(context)).map((status) => [status.source, status]));
    const captureOf = (topic: string) => {
      const source = context.pipeline.cdcSources.find(({ mappings }) => mappings.some(({ changeTopic }) => changeTopic.name === topic));
      return source && captures.get(source.source.name);
    };
    const rows: TopicRow[] = [];
    for (const topic of names) {
      const offsets = await admin.fetchTopicOffsets(topic);
      const high = new Map(offsets.map((partition) => [partition.partition, Number(partition.high)]));
      const low = new Map(offsets.map((partition) => [partition.partition, Number(partition.low)]));
      const lag: Record<string, number> = {};
      const noCommitYet: Record<string, string> = {};
      for (const group of committed) {
        const onTopic = group.topics.find((entry) => entry.topic === topic);
        if (!onTopic || onTopic.partitions.every((partition) => partition.offset === '-1')) continue;
        // A partition without a commit yet counts from its start.
        lag[group.groupId] = onTopic.partitions.reduce((sum, partition) => {
          const at = partition.offset === '-1' ? (low.get(partition.partition) ?? 0) : Number(partition.offset);
          return sum + Math.max(0, (high.get(partition.partition) ?? 0) - at);
        }, 0);
      }
      for (const reader of readers) {
        if (reader.topic !== topic || lag[reader.groupId] !== undefined) continue;
        const start =
          reader.from === 'beginning'
            ? low
            : reader.from === 'end'
              ? high
              : new Map(
                  (await admin.fetchTopicOffsetsByTimestamp(topic, reader.from)).map((partition) => [
                    partition.partition,
                    Number(partition.offset),
                  ]),
                );
        lag[reader.groupId] = offsets.reduce(
          (sum, partition) => sum + Math.max(0, (high.get(partition.partition) ?? 0) - (start.get(partition.partition) ?? 0)),
          0,
        );
        noCommitYet[reader.groupId] = typeof reader.from === 'number' ? new Date(reader.from).toISOString() : reader.from;
      }
      rows.push({
        topic,
        partitions: offsets.length,
        records: [...high.values()].reduce((sum, value) => sum + value, 0),
        lag,
        noCommitYet,
        ...(captureOf(topic) ? { capture: captureOf(topic)! } : {}),
      });
    }
    context.print(rows, () =>
      rows
        .map((row) => {
          const lags = Object.entries(row.lag).map(([group, value]) => {
            const from = row.noCommitYet[group];
            return `${group}=${value}${from === undefined ? '' : ` (no commit yet, from ${from === 'beginning' || from === 'end' ? `the ${from}` : from})`}`;
          });
          const capture = row.capture ? `  capture: ${describeCdcSourceStatus(row.capture)}` : '';
          return `${row.topic.padEnd(32)} ${String(row.partitions).padStart(3)} partitions ${String(row.records).padStart(9)} records${lags.length > 0 ? `  lag: ${lags.join(' ')}` : ''}${capture}`;
        })
        .join('\n'),
    );
  } finally {
    await admin.disconnect();
  }
}

/** The topics the members of each running consumer group subscribe to; a group committing nothing yet reads from the beginning as far as lag goes. */
async function subscribedGroups(admin: Admin, groupIds: readonly string[]): Promise<Uncommitted[]> {
  if (groupIds.length === 0) return [];
  const { groups } = await admin.describeGroups([...groupIds]);
  const readers: Uncommitted[] = [];
  for (const group of groups) {
    if (group.protocolType !== 'consumer') continue;
    const topics = new Set<string>();
    for (const member of group.members) {
      try {
        for (const topic of AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.topics ?? []) topics.add(topic);
      } catch {
        // A member whose subscription is not in the consumer protocol's layout names no topic.
      }
    }
    for (const topic of topics) readers.push({ groupId: group.groupId, topic, from: 'beginning' });
  }
  return readers;
}

/** The consumer groups the pipeline declares (its consumers' event sources), each from its declared starting position. */
function declaredGroups(context: CliContext): Uncommitted[] {
  return context.pipeline.consumers.map((consumer) => {
    const { startingPosition, startingPositionTimestampMs, consumerGroupId } = consumer.eventSource;
    const from =
      startingPosition === 'LATEST'
        ? 'end'
        : startingPosition === 'AT_TIMESTAMP' && startingPositionTimestampMs !== undefined
          ? startingPositionTimestampMs
          : 'beginning';
    return { groupId: consumerGroupId, topic: consumer.topic.name, from };
  });
}
