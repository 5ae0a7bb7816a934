import { catalog } from '../../example';
import { createHotStreamHandler } from '../../shared/hot-path';

/** Stock updates → coalesced, rate-limited `stock-deltas`; running out of stock never waits. */
export const handler = createHotStreamHandler(catalog.stocks, { env: process.env });
