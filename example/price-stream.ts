/** The example domain's price stream: an item's current price, coalesced and rate-limited. */
import {
  defineHotStream,
  fieldOf,
  InvalidUpdateError,
  parseUpdateOrder,
  type HotStream,
  type HotStreamDeclaration,
  type UpdateOrder,
} from '../shared/hot-path';

export interface PriceUpdate extends UpdateOrder {
  /** In minor units (cents), so equality is exact. */
  readonly amountMinor: number;
  readonly currency: string;
  /** Set by the source for drops that must reach shoppers at once. */
  readonly urgent?: boolean;
}

/** Parses a price update: `{ amountMinor, currency, sourceTimestamp, version, urgent? }`. */
export function parsePriceUpdate(value: unknown): PriceUpdate {
  const amountMinor = fieldOf(value, 'amountMinor');
  const currency = fieldOf(value, 'currency');
  const urgent = fieldOf(value, 'urgent');
  if (!Number.isSafeInteger(amountMinor) || (amountMinor as number) < 0)
    throw new InvalidUpdateError('amountMinor must be a whole number of minor units ≥ 0');
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency))
    throw new InvalidUpdateError('currency must be an ISO 4217 code such as "EUR"');
  if (urgent !== undefined && typeof urgent !== 'boolean') throw new InvalidUpdateError('urgent must be a boolean when present');
  return { ...parseUpdateOrder(value), amountMinor: amountMinor as number, currency, ...(urgent === undefined ? {} : { urgent }) };
}

/** Price stream defaults: a price drop flagged urgent never waits. */
export function definePriceStream(
  options: Omit<HotStreamDeclaration<PriceUpdate>, 'parse' | 'stateKey' | 'sameValue'>,
): HotStream<PriceUpdate> {
  return defineHotStream<PriceUpdate>({
    passThrough: (previous, next) => next.urgent === true && (previous === null || next.amountMinor < previous.amountMinor),
    mayPassThrough: (next) => next.urgent === true,
    // An urgent drop re-sent without the flag in the same batch stays urgent.
    carryOver: (superseded, survivor) =>
      superseded.urgent === true &&
      survivor.urgent !== true &&
      superseded.amountMinor === survivor.amountMinor &&
      superseded.currency === survivor.currency
        ? { ...survivor, urgent: true }
        : survivor,
    ...options,
    parse: parsePriceUpdate,
    stateKey: (itemId) => itemId,
    sameValue: (a, b) => a.amountMinor === b.amountMinor && a.currency === b.currency,
  });
}
