import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ChangePosition } from './change-event';

/** The positions table's key: one item per entity, holding the position of the change last published for it. */
export const CDC_POSITIONS_KEY = 'entityKey';

/**
 * Where each entity's stream stands: the position of the last change the
 * mapping published for it (a delete included). What is at or before it is a
 * repeat (a redelivered batch, a worker that replayed, a snapshot taken again)
 * and is not published: the entity topic never moves backwards.
 */
export class ChangePositionsStore {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The stored positions of these entities; one BatchGetItem per 100 keys (unprocessed keys asked again). */
  async read(keys: readonly string[]): Promise<Map<string, ChangePosition>> {
    const positions = new Map<string, ChangePosition>();
    for (let start = 0; start < keys.length; start += 100) {
      let pending: Record<string, unknown>[] = keys.slice(start, start + 100).map((key) => ({ [CDC_POSITIONS_KEY]: key }));
      while (pending.length > 0) {
        const output = await this.documents.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
        );
        for (const item of output.Responses?.[this.tableName] ?? []) {
          positions.set(item[CDC_POSITIONS_KEY] as string, { lsn: item.lsn as number, snapshot: item.snapshot as boolean });
        }
        pending = (output.UnprocessedKeys?.[this.tableName]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      }
    }
    return positions;
  }

  /**
   * Records that the entity's stream reached `position`, unless a newer one is recorded already.
   * @returns false when a newer position was there
   */
  async record(key: string, position: ChangePosition, deleted: boolean): Promise<boolean> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [CDC_POSITIONS_KEY]: key, lsn: position.lsn, snapshot: position.snapshot, deleted },
          // The rule of isNewerChange, in DynamoDB's words: streaming always follows a snapshot read.
          ConditionExpression: position.snapshot
            ? 'attribute_not_exists(#key) OR #lsn < :lsn'
            : 'attribute_not_exists(#key) OR #lsn < :lsn OR #snapshot = :true',
          ExpressionAttributeNames: { '#key': CDC_POSITIONS_KEY, '#lsn': 'lsn', ...(position.snapshot ? {} : { '#snapshot': 'snapshot' }) },
          ExpressionAttributeValues: { ':lsn': position.lsn, ...(position.snapshot ? {} : { ':true': true }) },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException')
        return false;
      throw error;
    }
  }
}
