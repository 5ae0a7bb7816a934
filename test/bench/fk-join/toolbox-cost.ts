/**
 * What dynamodb-toolbox would add per join event if the store built its requests
 * with it: CPU µs to build a left row's conditional PutItem and to format one
 * item read back, by toolbox and by hand (the store's way), in this process.
 */
import { EntityFormatter, PutItemCommand } from 'dynamodb-toolbox';
import { joinStateEntities, joinStateTable } from '../../../shared/fk-join/join-state-schema';
import { toLeftRow, toLeftRowItem, type LeftRow } from '../../../shared/fk-join/join-state-items';

export interface ToolboxCost {
  readonly toolboxPutMicros: number;
  readonly handPutMicros: number;
  readonly toolboxFormatMicros: number;
  readonly handFormatMicros: number;
}

function microsPerCall(iterations: number, work: (n: number) => unknown): number {
  for (let n = 0; n < iterations / 10; n += 1) work(n); // warm-up
  const before = process.cpuUsage();
  for (let n = 0; n < iterations; n += 1) work(n);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / iterations;
}

export function measureToolboxCost(iterations = 20_000): ToolboxCost {
  const { leftRow } = joinStateEntities(joinStateTable('bench-toolbox'));
  const row = (n: number): LeftRow => ({
    leftKey: `i${n}`,
    rev: n + 1,
    leftOffset: n,
    foreignKey: 'f3',
    value: Buffer.alloc(200, 120),
    subscribedAt: n,
    outputRightOffset: 7,
    emitted: true,
  });
  const toolboxPutMicros = microsPerCall(iterations, (n) =>
    leftRow
      .build(PutItemCommand)
      .item(toLeftRowItem(row(n)))
      .options({ condition: { attr: 'rev', eq: n }, capacity: 'TOTAL' })
      .params(),
  );
  const handPutMicros = microsPerCall(iterations, (n) => ({
    TableName: 'bench-toolbox',
    Item: toLeftRowItem(row(n)),
    ConditionExpression: 'rev = :rev',
    ExpressionAttributeValues: { ':rev': n },
    ReturnConsumedCapacity: 'TOTAL',
  }));
  const stored = toLeftRowItem(row(1));
  const formatter = leftRow.build(EntityFormatter);
  const toolboxFormatMicros = microsPerCall(iterations, () => formatter.format(stored));
  const handFormatMicros = microsPerCall(iterations, () => toLeftRow(stored));
  return { toolboxPutMicros, handPutMicros, toolboxFormatMicros, handFormatMicros };
}
