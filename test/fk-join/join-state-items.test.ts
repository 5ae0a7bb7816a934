import { EntityParser } from 'dynamodb-toolbox';
import { joinStateEntities, joinStateTable } from '../../shared/fk-join/join-state-schema';
import {
  leftRowKey,
  subscriptionKey,
  toLeftRow,
  toLeftRowItem,
  toRightRow,
  toRightRowItem,
  toSubscription,
  toSubscriptionItem,
  type LeftRow,
  type RightRow,
  type Subscription,
} from '../../shared/fk-join/join-state-items';

/*
 * The store builds its items by hand (toolbox's parsers cost more CPU per request than a tenth of
 * the join's); these tests hold every item it writes against the toolbox schemas of the table.
 */
describe('Module: join-state-items', () => {
  const entities = joinStateEntities(joinStateTable('join-state-test'));
  // Each entity's parser, called through one signature (the entities' types differ).
  const parsers: Record<keyof typeof entities, { parse(item: never): unknown }> = {
    leftRow: entities.leftRow.build(EntityParser),
    rightRow: entities.rightRow.build(EntityParser),
    subscription: entities.subscription.build(EntityParser),
    ledger: entities.ledger.build(EntityParser),
    fanOutCursor: entities.fanOutCursor.build(EntityParser),
  };
  const parse = (entity: keyof typeof entities, item: object) => parsers[entity].parse(item as never);

  const leftRow: LeftRow = {
    leftKey: 'item-7',
    rev: 3,
    leftOffset: 41,
    foreignKey: 'flyer-2',
    value: Buffer.from('{"name":"Milk"}'),
    subscribedAt: 12,
    outputRightOffset: 5,
    emitted: true,
  };

  it('writes a left row the LeftRow entity accepts, and reads it back unchanged', () => {
    const item = toLeftRowItem(leftRow);

    expect(() => parse('leftRow', item)).not.toThrow();
    expect(toLeftRow(item)).toEqual(leftRow);
  });

  it('holds the schemas strictly enough to catch a mistyped attribute', () => {
    expect(() => parse('leftRow', { ...toLeftRowItem(leftRow), rev: '3' })).toThrow();
  });

  it('leaves out the foreign key, value and subscription of a deleted left row, and reads them back as null', () => {
    const deleted: LeftRow = { ...leftRow, foreignKey: null, value: null, subscribedAt: null, outputRightOffset: -1, emitted: false };
    const item = toLeftRowItem(deleted);

    expect(() => parse('leftRow', item)).not.toThrow();
    expect(Object.keys(item)).not.toEqual(expect.arrayContaining(['foreignKey']));
    expect(toLeftRow(item)).toEqual(deleted);
  });

  it('writes right rows, tombstone markers included, that the RightRow entity accepts', () => {
    const right: RightRow = { rightKey: 'flyer-2', rightOffset: 9, value: Buffer.from('{}') };
    const marker: RightRow = { rightKey: 'flyer-3', rightOffset: 10, value: null };

    for (const row of [right, marker]) {
      expect(() => parse('rightRow', toRightRowItem(row))).not.toThrow();
      expect(toRightRow(toRightRowItem(row))).toEqual(row);
    }
  });

  it('writes active and retired subscription entries, the retired ones with an expiry, that the Subscription entity accepts', () => {
    const active: Subscription = { rightKey: 'flyer-2', leftKey: 'item-7', subscribedAt: 12, retired: false };
    const retired: Subscription = { ...active, retired: true };

    expect(() => parse('subscription', toSubscriptionItem(active, 1_700_000_000))).not.toThrow();
    expect(toSubscriptionItem(active, 1_700_000_000)).not.toHaveProperty('expiresAt');
    expect(toSubscriptionItem(retired, 1_700_000_000)).toMatchObject({ retired: true, expiresAt: 1_700_000_000 });
    expect(toSubscription(toSubscriptionItem(retired, 1_700_000_000))).toEqual(retired);
  });

  it('gives distinct sort keys to distinct (left key, offset) pairs, even when a left key holds the separator', () => {
    const keys = [
      subscriptionKey({ rightKey: 'f', leftKey: 'a#1', subscribedAt: 2 }),
      subscriptionKey({ rightKey: 'f', leftKey: 'a', subscribedAt: 12 }),
      subscriptionKey({ rightKey: 'f', leftKey: 'a#12', subscribedAt: 1 }),
    ].map((key) => key.sk);

    expect(new Set(keys).size).toBe(keys.length);
    expect(leftRowKey('a')).toEqual({ pk: 'L#a', sk: 'L' });
  });
});
