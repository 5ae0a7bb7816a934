import type { Pipeline } from '../shared/pipeline';
import { FLUSH_TICKER_ENTRY } from './consumers-stack';

/** Every handler module a pipeline deploys (one bundle each, however many consumers share it). */
export function functionEntries(pipeline: Pipeline): string[] {
  return [
    ...new Set([
      ...pipeline.consumers.map((consumer) => consumer.handler.entry),
      ...(pipeline.hotStreams.length > 0 ? [FLUSH_TICKER_ENTRY] : []),
    ]),
  ];
}
