import { Duration } from 'aws-cdk-lib';
import { MathExpression, Metric, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';

/**
 * MSK's broker metrics, for a cluster whose name and broker count synth knows
 * (a cluster this app creates). MSK publishes them per broker ("Broker ID" 1…n),
 * never per cluster, and an alarm's math may use at most 10 metrics, so a
 * figure over the whole cluster is built from at most {@link MAX_METRICS_PER_ALARM}
 * brokers at a time.
 */
export interface KnownCluster {
  readonly name: string;
  readonly brokerNodes: number;
}

/** CloudWatch's limit on the metrics one alarm's math expression may read. */
export const MAX_METRICS_PER_ALARM = 10;

const brokerMetric = (
  cluster: KnownCluster,
  brokerId: number,
  metricName: string,
  statistic: string,
  period: Duration,
  extra: Record<string, string> = {},
) =>
  new Metric({
    namespace: 'AWS/Kafka',
    metricName,
    dimensionsMap: { 'Cluster Name': cluster.name, 'Broker ID': String(brokerId), ...extra },
    statistic,
    period,
  });

/**
 * Records arriving at a topic over the whole cluster (the sum of its brokers' `MessagesInPerSec`, which needs
 * enhanced monitoring at PER_TOPIC_PER_BROKER or finer), or undefined when the brokers do not fit one alarm
 * beside the one other metric it compares with.
 */
export function topicMessagesIn(cluster: KnownCluster | undefined, topic: string, period: Duration): IMetric | undefined {
  if (!cluster || cluster.brokerNodes > MAX_METRICS_PER_ALARM - 1) return undefined;
  const usingMetrics = Object.fromEntries(
    Array.from({ length: cluster.brokerNodes }, (_, index) => [
      `in${index + 1}`,
      brokerMetric(cluster, index + 1, 'MessagesInPerSec', 'Sum', period, { Topic: topic }),
    ]),
  );
  return new MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    period,
    label: `${topic}: records in`,
  });
}

/** The fullest broker's data disk, in percent, one expression per group of at most 10 brokers. */
export function brokerDiskUsedPercent(cluster: KnownCluster): IMetric[] {
  const groups: IMetric[] = [];
  for (let first = 1; first <= cluster.brokerNodes; first += MAX_METRICS_PER_ALARM) {
    const last = Math.min(cluster.brokerNodes, first + MAX_METRICS_PER_ALARM - 1);
    const usingMetrics = Object.fromEntries(
      Array.from({ length: last - first + 1 }, (_, index) => [
        `disk${first + index}`,
        brokerMetric(cluster, first + index, 'KafkaDataLogsDiskUsed', 'Maximum', Duration.minutes(5)),
      ]),
    );
    groups.push(
      new MathExpression({
        expression: `MAX([${Object.keys(usingMetrics).join(', ')}])`,
        usingMetrics,
        period: Duration.minutes(5),
        label: `Fullest data disk, brokers ${first}–${last} (%)`,
      }),
    );
  }
  return groups;
}
