/** The example domain's stock stream: an item's stock, in total or per store, coalesced and rate-limited. */
import {
  defineHotStream,
  fieldOf,
  InvalidUpdateError,
  parseUpdateOrder,
  type HotStream,
  type HotStreamDeclaration,
  type UpdateOrder,
} from '../shared/hot-path';

export interface StockUpdate extends UpdateOrder {
  readonly quantity: number;
  /** Absent for an item's total stock. */
  readonly storeId?: string;
}

/** Parses a stock update: `{ quantity, storeId?, sourceTimestamp, version }`. */
export function parseStockUpdate(value: unknown): StockUpdate {
  const quantity = fieldOf(value, 'quantity');
  // Avro writes an optional field it was not given as null.
  const storeId = fieldOf(value, 'storeId') ?? undefined;
  if (!Number.isSafeInteger(quantity) || (quantity as number) < 0) throw new InvalidUpdateError('quantity must be a whole number ≥ 0');
  if (storeId !== undefined && (typeof storeId !== 'string' || storeId === ''))
    throw new InvalidUpdateError('storeId must be a non-empty string when present');
  return { ...parseUpdateOrder(value), quantity: quantity as number, ...(storeId === undefined ? {} : { storeId }) };
}

/** Stock stream defaults: per item and store; running out of stock never waits. */
export function defineStockStream(
  options: Omit<HotStreamDeclaration<StockUpdate>, 'parse' | 'stateKey' | 'sameValue'>,
): HotStream<StockUpdate> {
  return defineHotStream<StockUpdate>({
    passThrough: (previous, next) => next.quantity === 0 && previous !== null && previous.quantity !== 0,
    mayPassThrough: (next) => next.quantity === 0,
    ...options,
    parse: parseStockUpdate,
    stateKey: (itemId, update) => {
      // "@" separates item and store in the state key; allowing it in either would let two keys meet.
      if (itemId.includes('@') || update.storeId?.includes('@'))
        throw new InvalidUpdateError('item ids and store ids must not contain "@"');
      return update.storeId === undefined ? itemId : `${itemId}@${update.storeId}`;
    },
    sameValue: (a, b) => a.quantity === b.quantity,
  });
}
