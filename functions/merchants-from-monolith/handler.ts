import { catalog } from '../../example';
import { createCdcMappingHandler } from '../../shared/cdc';

/**
 * The monolith's `merchants` rows, as Debezium captured them, become the public
 * `merchants` entity stream (example/monolith.ts holds the mapping). The
 * environment is read once, at cold start, and handed down.
 */
export const handler = createCdcMappingHandler(catalog.merchantsFromMonolith, { env: process.env });
