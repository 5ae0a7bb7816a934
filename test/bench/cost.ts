/**
 * DynamoDB on-demand list prices, US East (N. Virginia), Standard table class,
 * in USD per million request units.
 *
 * Source: AWS halved on-demand throughput prices effective 1 November 2024
 * (https://aws.amazon.com/blogs/database/new-amazon-dynamodb-lowers-pricing-for-on-demand-throughput-and-global-tables/),
 * from $1.25 to $0.625 per million write request units and from $0.25 to
 * $0.125 per million read request units. Checked on 2026-12-01: these are
 * the figures quoted from that announcement and from the AWS Price List API
 * (https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonDynamoDB/current/region_index.json)
 * in awslabs/graphrag-toolkit#439 (merged 2026-07-30) and in airbyte.com's
 * DynamoDB pricing guide (2025-07-21); AWS's own page,
 * https://aws.amazon.com/dynamodb/pricing/on-demand/, is the one to re-check.
 * Not covered: transactional requests (2 units each; the platform sends none),
 * Standard-IA tables, other Regions, storage, and the free tier.
 */
export const ON_DEMAND_PRICES = {
  region: 'us-east-1',
  tableClass: 'STANDARD',
  usdPerMillionWriteRequestUnits: 0.625,
  usdPerMillionReadRequestUnits: 0.125,
} as const;

/** Request units one unit of work uses on average (an update, an input event). */
export interface RequestUnits {
  /** Read request units: 1 per strongly consistent read of up to 4 KB, ½ per eventually consistent one. */
  readonly rru: number;
  /** Write request units: 1 per write of up to 1 KB, a failed conditional write included. */
  readonly wru: number;
}

/**
 * What a million units of work cost at on-demand list prices, in USD, given
 * the request units each uses (reads and writes per unit of work, as the
 * benchmarks' metered clients count them from `ConsumedCapacity`).
 * Locally that undercounts: dynalite reports the table's units only, while AWS
 * also bills a write request unit for each index entry a write adds, changes or
 * removes (2 when a write moves an entry to another index key).
 *
 * @example
 * // 0.25 WRU and 0.01 RRU per update:
 * dollarsPerMillion({ rru: 0.01, wru: 0.25 }) // 0.158 USD per million updates
 */
export function dollarsPerMillion({ rru, wru }: RequestUnits): number {
  return rru * ON_DEMAND_PRICES.usdPerMillionReadRequestUnits + wru * ON_DEMAND_PRICES.usdPerMillionWriteRequestUnits;
}
