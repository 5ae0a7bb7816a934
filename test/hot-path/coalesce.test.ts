import { coalesceNewest, InvalidUpdateError } from '../../shared/hot-path';
import { definePriceStream, defineStockStream, type PriceUpdate } from '../../example';

const prices = definePriceStream({
  name: 'prices',
  inputTopic: 'in',
  outputTopic: 'out',
  deadLetterTopic: 'dlq',
  minEmitIntervalMs: 1_000,
});
const price = (version: number, amountMinor: number, sourceTimestamp = version, urgent?: boolean): PriceUpdate => ({
  version,
  sourceTimestamp,
  amountMinor,
  currency: 'EUR',
  ...(urgent === undefined ? {} : { urgent }),
});
const record = (offset: number, update: PriceUpdate, recordKey = 'item-1') => ({ recordKey, offset, partition: 0, update });

describe('Function: coalesceNewest', () => {
  it('keeps the newest update per key by version, whatever the order in the batch', () => {
    const newest = coalesceNewest(prices, [
      record(0, price(3, 30)),
      record(1, price(5, 50)),
      record(2, price(4, 40)),
      record(3, price(1, 9), 'item-2'),
    ]);

    expect(newest.get('item-1')?.update).toEqual(price(5, 50));
    expect(newest.get('item-2')?.update).toEqual(price(1, 9));
  });

  it('breaks a version tie by source timestamp, then by offset', () => {
    expect(coalesceNewest(prices, [record(0, price(2, 20, 200)), record(1, price(2, 21, 100))]).get('item-1')?.update.amountMinor).toBe(20);
    expect(coalesceNewest(prices, [record(0, price(2, 20, 100)), record(1, price(2, 21, 100))]).get('item-1')?.update.amountMinor).toBe(21);
  });

  it('keeps an urgent flag when the same price is re-sent without it in the same batch', () => {
    const newest = coalesceNewest(prices, [record(0, price(5, 900, 5, true)), record(1, price(6, 900))]);

    expect(newest.get('item-1')?.update).toEqual(price(6, 900, 6, true));
  });

  it('does not carry urgency over to a different price', () => {
    const newest = coalesceNewest(prices, [record(0, price(5, 900, 5, true)), record(1, price(6, 950))]);

    expect(newest.get('item-1')?.update.urgent).toBeUndefined();
  });
});

describe('Function: defineStockStream', () => {
  const stock = defineStockStream({
    name: 'stock',
    inputTopic: 'in',
    outputTopic: 'out',
    deadLetterTopic: 'dlq',
    minEmitIntervalMs: 1_000,
  });

  it('keys stock by item and store, and lets reaching zero through at once', () => {
    expect(stock.stateKey('item-1', { version: 1, sourceTimestamp: 1, quantity: 3, storeId: 's9' })).toBe('item-1@s9');
    expect(stock.stateKey('item-1', { version: 1, sourceTimestamp: 1, quantity: 3 })).toBe('item-1');
    expect(stock.passThrough({ version: 1, sourceTimestamp: 1, quantity: 3 }, { version: 2, sourceTimestamp: 2, quantity: 0 })).toBe(true);
    expect(stock.passThrough({ version: 1, sourceTimestamp: 1, quantity: 3 }, { version: 2, sourceTimestamp: 2, quantity: 2 })).toBe(false);
  });

  it('rejects ids containing the separator, so two keys can never meet', () => {
    expect(() => stock.stateKey('item@1', { version: 1, sourceTimestamp: 1, quantity: 3 })).toThrow(InvalidUpdateError);
  });
});
