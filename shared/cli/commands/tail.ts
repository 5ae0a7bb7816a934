import { randomUUID } from 'node:crypto';
import { CliError, UsageError, type CliContext } from '../context';
import { printable } from '../operations/record-format';

/**
 * `tail <topic> [--from beginning|end|<ISO time>] [--max N]`: prints records
 * as they arrive (decoded, with headers and the trace each belongs to) until
 * Ctrl-C or N records.
 */
export async function tailCommand(context: CliContext, topic: string, from: string, max: number | undefined): Promise<void> {
  const admin = (await context.kafka()).admin();
  await admin.connect();
  let start: Array<{ partition: number; offset: string }>;
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new CliError(`topic "${topic}" does not exist`);
    if (from === 'beginning')
      start = (await admin.fetchTopicOffsets(topic)).map((partition) => ({ partition: partition.partition, offset: partition.low }));
    else if (from === 'end')
      start = (await admin.fetchTopicOffsets(topic)).map((partition) => ({ partition: partition.partition, offset: partition.high }));
    else {
      const at = Date.parse(from);
      if (Number.isNaN(at))
        throw new UsageError(`--from must be "beginning", "end" or an ISO time such as 2026-11-26T10:00:00Z, got "${from}"`);
      start = await admin.fetchTopicOffsetsByTimestamp(topic, at);
    }
  } finally {
    await admin.disconnect();
  }
  const consumer = (await context.kafka()).consumer({ groupId: `platform-cli.tail.${randomUUID()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  const format = context.formatOf(topic);
  let printed = 0;
  await new Promise<void>((resolvePrinted, reject) => {
    consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
    process.once('SIGINT', () => resolvePrinted());
    // Only on the first join: a later rebalance must not start the tail over.
    let sought = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (sought) return;
      sought = true;
      for (const { partition, offset } of start) consumer.seek({ topic, partition, offset });
    });
    void consumer
      .subscribe({ topic, fromBeginning: true })
      .then(() =>
        consumer.run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            if (max !== undefined && printed >= max) return;
            const record = await printable(topic, partition, message, format);
            console.log(
              context.json
                ? JSON.stringify(record)
                : `${record.timestamp} ${topic}-${partition}@${record.offset} ${record.key ?? '(no key)'} trace=${record.trace?.traceId ?? '(none)'} ${JSON.stringify(record.value)} ${JSON.stringify(record.headers)}`,
            );
            printed += 1;
            if (max !== undefined && printed >= max) resolvePrinted();
          },
        }),
      )
      .catch(reject);
  });
  await consumer.disconnect();
}
