import { debeziumConnectorConfig, defineCdcMapping, MAX_CHANGE_EVENT_BYTES } from '../../shared/cdc';

describe('Function: debeziumConnectorConfig', () => {
  const source = { name: 'monolith', database: 'shop' };
  const connection = { hostname: 'db.internal', port: 5432, user: 'capture', password: 'secret' };

  it('captures exactly the mapped tables through a slot and publication named after the source, snapshot first', () => {
    const config = debeziumConnectorConfig(source, [{ table: 'public.orders' }, { table: 'public.customers' }], connection, {
      exactlyOnce: true,
      replicationFactor: 3,
    });

    expect(config).toMatchObject({
      'exactly.once.support': 'required',
      'tasks.max': '1',
      'database.dbname': 'shop',
      'table.include.list': 'public.customers,public.orders',
      'slot.name': 'monolith',
      'publication.name': 'monolith',
      'publication.autocreate.mode': 'filtered',
      'snapshot.mode': 'initial',
      'topic.prefix': 'monolith',
      'producer.override.max.request.size': String(MAX_CHANGE_EVENT_BYTES),
    });
  });

  it('cuts the columns a mapping declares to their lengths, grouped per length', () => {
    const config = debeziumConnectorConfig(
      source,
      [
        { table: 'public.orders', truncateColumns: { notes: 1024, blob: 64 } },
        { table: 'public.customers', truncateColumns: { bio: 1024 } },
      ],
      connection,
      { exactlyOnce: false, replicationFactor: 3 },
    );

    expect(config['column.truncate.to.1024.chars']).toBe('public.customers.bio,public.orders.notes');
    expect(config['column.truncate.to.64.chars']).toBe('public.orders.blob');
    expect(config['exactly.once.support']).toBeUndefined();
  });

  it('refuses a truncation that is no whole number of characters', () => {
    expect(() =>
      defineCdcMapping({
        name: 'orders',
        source,
        table: 'public.orders',
        entityTopic: 'orders',
        deadLetterTopic: 'orders.dlq',
        entityKey: (row) => String(row.id),
        toEntity: (row) => row,
        truncateColumns: { notes: 0 },
      }),
    ).toThrow('truncateColumns must map lower-case column names to a whole number of characters, got notes: 0');
  });
});
