import { binary, boolean, Entity, item, number, string, Table, type SavedItem } from 'dynamodb-toolbox';

/*
 * The join-state table and its items, declared with dynamodb-toolbox: the
 * schemas (and the types the store's items are checked against at compile
 * time). Requests are built by hand in join-state-items.ts: toolbox's
 * parsers cost 60–90 µs of CPU per PutItem and about 10 µs per key of a
 * BatchGetItem, more than a tenth of what a join spends per result (see the
 * module README), so the store keeps toolbox for the schemas only. A unit
 * test parses every item the store writes with these entities.
 */

/** The table of one join; the name is the join's derived table name. */
export function joinStateTable(name: string) {
  return new Table({
    name,
    partitionKey: { name: 'pk', type: 'string' },
    sortKey: { name: 'sk', type: 'string' },
  });
}

/** The items hold only their own attributes: no entity name, no timestamps. */
const PLAIN = { entityAttribute: false, timestamps: false } as const;

export function joinStateEntities(table: ReturnType<typeof joinStateTable>) {
  return {
    leftRow: new Entity({
      name: 'LeftRow',
      table,
      ...PLAIN,
      schema: item({
        pk: string().key(),
        sk: string().key(),
        leftKey: string(),
        rev: number(),
        leftOffset: number(),
        foreignKey: string().optional(),
        value: binary().optional(),
        subscribedAt: number().optional(),
        outputRightOffset: number().optional(),
        emitted: boolean().optional(),
      }),
    }),
    rightRow: new Entity({
      name: 'RightRow',
      table,
      ...PLAIN,
      schema: item({
        pk: string().key(),
        sk: string().key(),
        rightKey: string(),
        rightOffset: number(),
        value: binary().optional(),
      }),
    }),
    fanOutCursor: new Entity({
      name: 'FanOutCursor',
      table,
      ...PLAIN,
      schema: item({
        pk: string().key(),
        sk: string().key(),
        cursor: string().optional(),
        resumedFrom: string().optional(),
        repair: boolean().optional(),
        expiresAt: number(),
      }),
    }),
    subscription: new Entity({
      name: 'Subscription',
      table,
      ...PLAIN,
      schema: item({
        pk: string().key(),
        sk: string().key(),
        leftKey: string(),
        subscribedAt: number(),
        retired: boolean().optional(),
        expiresAt: number().optional(),
      }),
    }),
    ledger: new Entity({
      name: 'Ledger',
      table,
      ...PLAIN,
      schema: item({ pk: string().key(), sk: string().key(), attemptedThrough: number() }),
    }),
  };
}

type Entities = ReturnType<typeof joinStateEntities>;
export type LeftRowItem = SavedItem<Entities['leftRow']>;
export type RightRowItem = SavedItem<Entities['rightRow']>;
export type SubscriptionItem = SavedItem<Entities['subscription']>;
