import type { PriceUpdate } from './price-stream';
import type { StockUpdate } from './stock-stream';
import type { Flyer, Item, Merchant } from './model';

export interface CatalogSize {
  readonly merchants: number;
  readonly flyers: number;
  readonly items: number;
}

export interface CatalogDataset {
  readonly merchants: Merchant[];
  readonly flyers: Flyer[];
  readonly items: Item[];
}

const COUNTRIES = ['DE', 'CA', 'FR', 'JP', 'US', 'PT', 'GB', 'PL'];
const CATEGORIES = ['produce', 'dairy', 'bakery', 'pantry', 'frozen', 'household', 'drinks', 'snacks'];
const NOUNS = ['Apples', 'Milk', 'Sourdough', 'Pasta', 'Peas', 'Detergent', 'Sparkling Water', 'Crackers', 'Coffee', 'Yogurt'];
const DAY_MS = 86_400_000;

/**
 * A catalog of realistic shape from a seeded random source: every flyer
 * belongs to a merchant, every item to a flyer, some items have no description
 * or image. The same seed gives the same catalog.
 */
export function generateCatalog(size: CatalogSize, random: () => number, now = 1_767_225_600_000): CatalogDataset {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const merchants = Array.from(
    { length: size.merchants },
    (_, index): Merchant => ({
      merchantId: `merchant-${index}`,
      name: `Merchant ${index}`,
      country: pick(COUNTRIES),
      website: random() < 0.7 ? `https://merchant-${index}.example` : null,
    }),
  );
  const flyers = Array.from({ length: size.flyers }, (_, index): Flyer => {
    const validFrom = now - Math.floor(random() * 7) * DAY_MS;
    return {
      flyerId: `flyer-${index}`,
      merchantId: pick(merchants).merchantId,
      title: `Weekly deals #${index}`,
      validFrom,
      validUntil: validFrom + 7 * DAY_MS,
    };
  });
  const items = Array.from(
    { length: size.items },
    (_, index): Item => ({
      itemId: `item-${index}`,
      flyerId: pick(flyers).flyerId,
      name: `${pick(NOUNS)} ${index}`,
      category: pick(CATEGORIES),
      description: random() < 0.8 ? `Fresh deal on item ${index}` : null,
      imageUrl: random() < 0.6 ? `https://images.example/item-${index}.jpg` : null,
    }),
  );
  return { merchants, flyers, items };
}

/** Draws indexes 0…n−1 with probability ∝ 1 / (rank+1)^skew: a few items get most of the ticks. */
export function zipfSampler(n: number, skew: number, random: () => number): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let rank = 0; rank < n; rank += 1) cumulative[rank] = total += 1 / (rank + 1) ** skew;
  return () => {
    const target = random() * total;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (cumulative[middle]! < target) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}

/** Price and stock ticks for items, versions increasing per item as a source system would number them. */
export class TickSource {
  private readonly priceVersions = new Map<string, number>();
  private readonly stockVersions = new Map<string, number>();

  constructor(
    private readonly random: () => number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Versions start from the clock, so a restarted source (npm start --persist) still moves forward. */
  private firstVersion(): number {
    return this.clock() * 1_000;
  }

  price(itemId: string): PriceUpdate {
    const version = (this.priceVersions.get(itemId) ?? this.firstVersion()) + 1;
    this.priceVersions.set(itemId, version);
    const amountMinor = 99 + Math.floor(this.random() * 40) * 25;
    return { version, sourceTimestamp: this.clock(), amountMinor, currency: 'EUR', ...(this.random() < 0.01 ? { urgent: true } : {}) };
  }

  stock(itemId: string): StockUpdate {
    const version = (this.stockVersions.get(itemId) ?? this.firstVersion()) + 1;
    this.stockVersions.set(itemId, version);
    return { version, sourceTimestamp: this.clock(), quantity: this.random() < 0.05 ? 0 : Math.floor(this.random() * 200) };
  }
}
