import type { Consumer, HotStreamDeployment, Join, Pipeline } from '../../pipeline';
import { NotFoundError, UsageError } from '../errors';

/** A declared consumer by name, or a clear error listing the ones there are. */
export function consumerNamed(pipeline: Pipeline, name: string): Consumer {
  const consumer = pipeline.consumers.find((candidate) => candidate.name === name);
  if (!consumer)
    throw new UsageError(
      `no consumer "${name}" in pipeline "${pipeline.name}" (there are: ${pipeline.consumers.map((known) => known.name).join(', ')})`,
    );
  return consumer;
}

/** Where a consumer's failed records go: the topic its handler dead-letters to, or its on-failure topic; undefined when it has none. */
export function deadLetterTopicOrNone(consumer: Consumer): string | undefined {
  return consumer.deadLetterTopic?.name ?? consumer.eventSource.onFailure?.topic;
}

/** Where a consumer's failed records go, or a clear error when it has no such topic. */
export function deadLetterTopicOf(consumer: Consumer): string {
  const topic = deadLetterTopicOrNone(consumer);
  if (!topic) throw new NotFoundError(`consumer "${consumer.name}" has no dead-letter topic`);
  return topic;
}

/** A declared join by name, or a clear error listing the ones there are. */
export function joinNamed(pipeline: Pipeline, name: string): Join {
  const deployed = pipeline.joins.find((candidate) => candidate.join.name === name);
  if (!deployed)
    throw new UsageError(
      `no join "${name}" in pipeline "${pipeline.name}" (there are: ${pipeline.joins.map((join) => join.join.name).join(', ') || 'none'})`,
    );
  return deployed;
}

/** A declared hot stream by name, or a clear error listing the ones there are. */
export function hotStreamNamed(pipeline: Pipeline, name: string): HotStreamDeployment {
  const deployed = pipeline.hotStreams.find((candidate) => candidate.stream.name === name);
  if (!deployed)
    throw new UsageError(
      `no hot stream "${name}" in pipeline "${pipeline.name}" (there are: ${pipeline.hotStreams.map((hot) => hot.stream.name).join(', ') || 'none'})`,
    );
  return deployed;
}

/** The consumers that have a dead-letter topic, with it: the ones whose letters can be listed. */
export function consumersWithDeadLetters(pipeline: Pipeline): Array<{ consumer: string; topic: string }> {
  return pipeline.consumers.flatMap((consumer) => {
    const topic = deadLetterTopicOrNone(consumer);
    return topic === undefined ? [] : [{ consumer: consumer.name, topic }];
  });
}
