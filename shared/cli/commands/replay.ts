import { CliError, UsageError, type CliContext } from '../context';
import { consumerNamed } from '../operations/pipeline-parts';

/**
 * `replay <consumer> --from <earliest|ISO time>`: moves the consumer's group
 * back so it processes again from there. Refused while the consumer runs
 * (its group has members): offsets can only be reset safely on an idle group.
 */
export async function replayCommand(context: CliContext, consumerName: string, from: string | undefined): Promise<void> {
  const consumer = consumerNamed(context.pipeline, consumerName);
  if (!from) throw new UsageError('replay needs --from earliest or --from <ISO time>');
  const at = from === 'earliest' ? undefined : Date.parse(from);
  if (at !== undefined && Number.isNaN(at))
    throw new UsageError(`--from must be "earliest" or an ISO time such as 2026-11-26T10:00:00Z, got "${from}"`);
  const groupId = consumer.eventSource.consumerGroupId;
  const topic = consumer.topic.name;
  const admin = (await context.kafka()).admin();
  await admin.connect();
  try {
    const [group] = (await admin.describeGroups([groupId])).groups;
    if (group && group.members.length > 0) {
      const how = context.target.localServices
        ? `disable it first: \`platform mapping disable ${consumerName}\`, replay, then \`platform mapping enable ${consumerName}\``
        : 'disable its event source mapping first (aws lambda update-event-source-mapping --uuid … --no-enabled), replay, then enable it';
      throw new CliError(
        `consumer "${consumerName}" is running (group ${groupId} has ${group.members.length} member(s), state ${group.state}): ${how}`,
      );
    }
    const partitions =
      at === undefined
        ? (await admin.fetchTopicOffsets(topic)).map((partition) => ({ partition: partition.partition, offset: partition.low }))
        : await admin.fetchTopicOffsetsByTimestamp(topic, at);
    await admin.setOffsets({ groupId, topic, partitions });
    context.print(
      { consumer: consumerName, groupId, topic, partitions },
      () =>
        `consumer ${consumerName} (group ${groupId}) will resume ${topic} at ${partitions.map((partition) => `${partition.partition}:${partition.offset}`).join(' ')}`,
    );
  } finally {
    await admin.disconnect();
  }
}
