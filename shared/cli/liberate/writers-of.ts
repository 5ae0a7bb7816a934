import type { Pipeline } from '../../pipeline';

/**
 * Who in the pipeline writes a topic: the consumers that produce it (a join's
 * output, a hot stream's deltas or entity topic, dead letters) and the event
 * sources that send their failures to it. A topic someone derives must never be
 * liberated: liberation feeds the entity topics the monolith owns, and records
 * written beside a consumer's own would be overwritten, or would overwrite its.
 *
 * @returns one description per writer, empty when the topic is nobody's output
 */
export function writersOf(pipeline: Pipeline, topic: string): string[] {
  const writers = new Set<string>();
  for (const join of pipeline.joins) {
    if (join.join.outputTopic === topic) writers.add(`the output of join "${join.join.name}"`);
    if (join.join.deadLetterTopic === topic) writers.add(`the dead letters of join "${join.join.name}"`);
  }
  for (const { stream } of pipeline.hotStreams) {
    if (stream.outputTopic === topic) writers.add(`the deltas of hot stream "${stream.name}"`);
    if (stream.verbosity.mode === 'delta-and-entity' && stream.verbosity.entityTopic === topic)
      writers.add(`the entity topic of hot stream "${stream.name}"`);
    if (stream.deadLetterTopic === topic) writers.add(`the dead letters of hot stream "${stream.name}"`);
  }
  for (const consumer of pipeline.consumers) {
    // A join's and a hot stream's consumers are named above already, by what they derive.
    if (consumer.produces.some((produced) => produced.name === topic) && !derivedConsumer(pipeline, consumer.name))
      writers.add(`written by consumer "${consumer.name}"`);
    if (consumer.eventSource.onFailure?.topic === topic) writers.add(`the on-failure destination of consumer "${consumer.name}"`);
  }
  return [...writers];
}

function derivedConsumer(pipeline: Pipeline, name: string): boolean {
  return (
    pipeline.joins.some((join) => join.leftConsumer.name === name || join.rightConsumer.name === name) ||
    pipeline.hotStreams.some((hot) => hot.consumer.name === name)
  );
}
