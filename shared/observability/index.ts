import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** Records a handler dead-letters itself (invalid input); the CDK stacks alarm on it with the event source's own count. */
export const DEAD_LETTERED_METRIC = 'DeadLetteredRecords';

/**
 * Structured JSON logs and CloudWatch embedded metrics for one handler, from
 * Powertools for AWS Lambda. The service name is the consumer's
 * (`POWERTOOLS_SERVICE_NAME`, set by the stacks); the namespace the pipeline's
 * (`POWERTOOLS_METRICS_NAMESPACE`). The local runtime turns metrics off and
 * logs warnings only, so the terminal view stays readable.
 */
export interface Telemetry {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * Counts and logs records the handler dead-lettered itself. `details` go into
   * the log line: for one record, its partition, offset and `traceId` (the W3C
   * trace id of its `traceparent`), so the letter's journey can be followed.
   */
  deadLettered(count: number, reason: string, details?: Readonly<Record<string, unknown>>): void;
  /** Writes the invocation's metrics (call once per invocation, also when it failed). */
  flush(): void;
}

export function createTelemetry(serviceName: string): Telemetry {
  const logger = new Logger({ serviceName });
  // The namespace is Powertools' own setting, POWERTOOLS_METRICS_NAMESPACE, which the stacks set for every function.
  const metrics = new Metrics({ serviceName });
  return {
    logger,
    metrics,
    deadLettered(count, reason, details = {}) {
      if (count === 0) return;
      metrics.addMetric(DEAD_LETTERED_METRIC, MetricUnit.Count, count);
      logger.warn('records dead-lettered', { count, reason, ...details });
    },
    flush() {
      // Without data Powertools would warn on every invocation.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    },
  };
}
