export { catalog, defineCatalog, type Catalog } from './catalog';
export { offerOf, type Flyer, type Item, type ItemWithFlyer, type Merchant, type Offer } from './model';
export { generateCatalog, TickSource, zipfSampler, type CatalogDataset, type CatalogSize } from './dataset';
export { definePriceStream, parsePriceUpdate, type PriceUpdate } from './price-stream';
export { defineStockStream, parseStockUpdate, type StockUpdate } from './stock-stream';
export { defineMerchantsFromMonolith, merchantRow, monolithId, MONOLITH_SCHEMA_SQL, UPSERT_MERCHANT_SQL } from './monolith';
