import { catalog } from '../../example';
import { createHotStreamHandler } from '../../shared/hot-path';

/** Price updates → coalesced, rate-limited `price-deltas`. */
export const handler = createHotStreamHandler(catalog.prices, { env: process.env });
