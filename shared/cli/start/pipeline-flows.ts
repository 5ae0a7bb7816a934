import type { Admin, Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { topicRecordCount } from '../../kafka';
import type { Pipeline } from '../../pipeline';
import { readValue } from '../../schemas';

/**
 * What the live view shows beyond per-consumer numbers: how many results each
 * join has emitted, how much each hot stream coalesces (updates in ÷ deltas
 * out), the records in each dead-letter topic, and the latest records of the
 * last join's output (the Core Event).
 */
export async function startPipelineFlows(kafka: Kafka, pipeline: Pipeline) {
  const admin: Admin = kafka.admin();
  await admin.connect();
  const coreJoin = pipeline.joins.at(-1)?.join;
  const coreTopic = coreJoin?.outputTopic;
  const recent: string[] = [];
  const tail = coreTopic ? kafka.consumer({ groupId: `local-view.${randomUUID()}`, maxWaitTimeInMs: 500 }) : undefined;
  if (tail && coreTopic) {
    await tail.connect();
    await tail.subscribe({ topic: coreTopic, fromBeginning: false });
    void tail.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        // Shown decoded from the topic's wire format (Avro with a schema id), as `platform tail` shows it.
        const value = await readValue(coreJoin!.formats.output, message.value).catch((error: unknown) => `(unreadable: ${String(error)})`);
        recent.push(`${message.key?.toString() ?? '(no key)'} → ${value === null ? '(deleted)' : JSON.stringify(value)}`);
        if (recent.length > 3) recent.shift();
      },
    });
  }
  const total = (topic: string) => topicRecordCount(admin, topic);
  return {
    async lines(): Promise<string[]> {
      const lines: string[] = [];
      for (const { join } of pipeline.joins)
        lines.push(`join ${join.name}: ${await total(join.outputTopic)} results on ${join.outputTopic}`);
      for (const { stream } of pipeline.hotStreams) {
        const [updates, deltas] = [await total(stream.inputTopic), await total(stream.outputTopic)];
        lines.push(
          `hot stream ${stream.name}: ${updates} updates (with flush ticks) → ${deltas} deltas${deltas > 0 ? `, ${(updates / deltas).toFixed(1)}× coalesced` : ''}`,
        );
      }
      // Joins and hot streams dead-letter what they cannot read themselves, so the consumers' own column misses those.
      const letters = await Promise.all(
        pipeline.topics.filter((topic) => topic.kind === 'dead-letter').map(async (topic) => `${topic.name} ${await total(topic.name)}`),
      );
      if (letters.length > 0) lines.push(`dead letters (all causes): ${letters.join(', ')}`);
      if (coreTopic)
        lines.push('', `Recent ${coreTopic}:`, ...(recent.length > 0 ? recent.map((line) => `  ${line.slice(0, 220)}`) : ['  (none yet)']));
      return lines;
    },
    async stop() {
      await tail?.disconnect();
      await admin.disconnect();
    },
  };
}
