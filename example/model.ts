/**
 * The example domain's entities and Core Events, as JSON values on their
 * topics. Field names and meanings match the Avro schemas in `schemas/`.
 */

/** `merchants`, keyed by merchantId. */
export interface Merchant {
  readonly merchantId: string;
  readonly name: string;
  /** ISO 3166-1 alpha-2. */
  readonly country: string;
  readonly website: string | null;
}

/** `flyers`, keyed by flyerId. */
export interface Flyer {
  readonly flyerId: string;
  readonly merchantId: string;
  readonly title: string;
  readonly validFrom: number;
  readonly validUntil: number;
}

/** `items`, keyed by itemId: static properties only; price and stock have their own streams. */
export interface Item {
  readonly itemId: string;
  readonly flyerId: string;
  readonly name: string;
  readonly category: string;
  readonly description: string | null;
  readonly imageUrl: string | null;
}

/** `items-with-flyer`, keyed by itemId: the first hop towards an offer. */
export interface ItemWithFlyer {
  readonly item: Item;
  readonly flyer: Flyer;
}

/** Core Event `offers`, keyed by itemId: an item as shoppers see it, with its flyer and merchant. */
export interface Offer {
  readonly itemId: string;
  readonly name: string;
  readonly category: string;
  readonly description: string | null;
  readonly imageUrl: string | null;
  readonly flyer: { readonly flyerId: string; readonly title: string; readonly validFrom: number; readonly validUntil: number };
  /** Null while the flyer's merchant is unknown. */
  readonly merchant: { readonly merchantId: string; readonly name: string; readonly country: string } | null;
}

/** The offer of an item, its flyer and (if known) its merchant: the one definition the join and the tests share. */
export function offerOf(item: Item, flyer: Flyer, merchant: Merchant | null): Offer {
  return {
    itemId: item.itemId,
    name: item.name,
    category: item.category,
    description: item.description,
    imageUrl: item.imageUrl,
    flyer: { flyerId: flyer.flyerId, title: flyer.title, validFrom: flyer.validFrom, validUntil: flyer.validUntil },
    merchant: merchant && { merchantId: merchant.merchantId, name: merchant.name, country: merchant.country },
  };
}
