import type { CliContext } from '../context';

interface TopicRow {
  readonly topic: string;
  readonly partitions: number;
  /** Sum of the partitions' end offsets. */
  readonly records: number;
  /** Per consumer group reading the topic: records not yet committed. */
  readonly lag: Record<string, number>;
}

/** `topics`: every topic with its partitions, end offsets and the lag of each consumer group on it. */
export async function topicsCommand(context: CliContext): Promise<void> {
  const admin = (await context.kafka()).admin();
  await admin.connect();
  try {
    const names = (await admin.listTopics()).filter((name) => !name.startsWith('__')).sort();
    const groups = (await admin.listGroups()).groups.map((group) => group.groupId);
    const committed = await Promise.all(groups.map(async (groupId) => ({ groupId, topics: await admin.fetchOffsets({ groupId }) })));
    const rows: TopicRow[] = [];
    for (const topic of names) {
      const offsets = await admin.fetchTopicOffsets(topic);
      const high = new Map(offsets.map((partition) => [partition.partition, Number(partition.high)]));
      const lag: Record<string, number> = {};
      for (const group of committed) {
        const onTopic = group.topics.find((entry) => entry.topic === topic);
        if (!onTopic || onTopic.partitions.every((partition) => partition.offset === '-1')) continue;
        lag[group.groupId] = onTopic.partitions.reduce((sum, partition) => sum + Math.max(0, (high.get(partition.partition) ?? 0) - Math.max(0, Number(partition.offset))), 0);
      }
      rows.push({ topic, partitions: offsets.length, records: [...high.values()].reduce((sum, value) => sum + value, 0), lag });
    }
    context.print(rows, () =>
      rows
        .map((row) => {
          const lags = Object.entries(row.lag).map(([group, value]) => `${group}=${value}`);
          return `${row.topic.padEnd(32)} ${String(row.partitions).padStart(3)} partitions ${String(row.records).padStart(9)} records${lags.length > 0 ? `  lag: ${lags.join(' ')}` : ''}`;
        })
        .join('\n'),
    );
  } finally {
    await admin.disconnect();
  }
}
