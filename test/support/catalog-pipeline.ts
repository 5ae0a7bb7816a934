import type { Catalog } from '../../example';
import { createJoinHandlers, joinStateTableVariable } from '../../shared/fk-join';
import { createHotStreamHandler, hotStateTableVariable } from '../../shared/hot-path';
import { runPipeline, type RunningPipeline } from '../../shared/local';
import type { MskHandler } from '../../shared/msk';
import { definePipeline, type Pipeline } from '../../shared/pipeline';
import { NOOP_HANDLER_ENTRY, uniqueName, type TestServices } from './integration';

/**
 * The example domain's joins and hot streams, run on the test services with
 * the handlers the functions/ modules export, made for this copy of the
 * catalog (its topics and tables are the catalog's prefix's own).
 */
export async function runCatalogPipeline(
  services: TestServices,
  catalog: Catalog,
): Promise<{ pipeline: Pipeline; running: RunningPipeline }> {
  const { runtime, kafka, documents } = services;
  const quick = { maximumBatchingWindowMs: 100 };
  const pipeline = definePipeline({
    name: uniqueName('catalog'),
    topics: catalog.topics,
    joins: [
      { join: catalog.itemsWithFlyer, handler: { entry: NOOP_HANDLER_ENTRY }, eventSource: quick },
      { join: catalog.offers, handler: { entry: NOOP_HANDLER_ENTRY }, eventSource: quick },
    ],
    hotStreams: [
      { stream: catalog.prices, handler: { entry: NOOP_HANDLER_ENTRY }, eventSource: quick },
      { stream: catalog.stocks, handler: { entry: NOOP_HANDLER_ENTRY }, eventSource: quick },
    ],
  });
  const env = (variable: string, table: string) => ({ [variable]: table, KAFKA_BROKERS: runtime.kafka.brokers.join(',') });
  const handlers: Record<string, MskHandler> = {};
  for (const { join, table, leftConsumer, rightConsumer } of pipeline.joins) {
    const { left, right } = createJoinHandlers(join, { env: env(joinStateTableVariable(join.name), table.name), documents, kafka });
    handlers[leftConsumer.name] = left;
    handlers[rightConsumer.name] = right;
  }
  for (const { stream, table, consumer } of pipeline.hotStreams) {
    handlers[consumer.name] = createHotStreamHandler(stream, {
      env: env(hotStateTableVariable(stream.name), table.name),
      documents,
      kafka,
    });
  }
  const running = await runPipeline(runtime, pipeline, {
    retryDelayMs: () => 20,
    handlers,
  });
  return { pipeline, running };
}
