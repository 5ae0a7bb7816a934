import { defineCdcMapping, type CdcMapping, type Row } from '../shared/cdc';
import type { ValueFormat } from '../shared/schemas';
import type { Merchant } from './model';

/**
 * The example's monolith: a PostgreSQL database whose `merchants` table is the
 * merchants' system of record. Its shape is the monolith's own (a numeric id,
 * a lower-case country code, '' for "no website", a private credit limit); the
 * mapping below is the one place that shape becomes the public `merchants`
 * entity, which the `offers` join reads.
 */
export const MONOLITH_SCHEMA_SQL = `
CREATE TABLE public.merchants (
  id                 integer     PRIMARY KEY,
  display_name       text        NOT NULL,
  country_code       text        NOT NULL,
  website_url        text        NOT NULL DEFAULT '',
  credit_limit_cents bigint      NOT NULL DEFAULT 0,
  updated_at         timestamptz NOT NULL DEFAULT now()
);`;

/** The monolith's row of a merchant, as the monolith's own code would write it. */
export function merchantRow(merchant: Merchant): readonly unknown[] {
  return [monolithId(merchant.merchantId), merchant.name, merchant.country.toLowerCase(), merchant.website ?? ''];
}

/** The statement that writes {@link merchantRow}'s values, inserting or updating. */
export const UPSERT_MERCHANT_SQL = `
INSERT INTO public.merchants (id, display_name, country_code, website_url) VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO UPDATE SET display_name = $2, country_code = $3, website_url = $4, updated_at = now()`;

/** The monolith's id of a public merchant id: `merchant-7` is row 7. */
export function monolithId(merchantId: string): number {
  const id = Number(/^merchant-(\d+)$/.exec(merchantId)?.[1]);
  if (!Number.isSafeInteger(id)) throw new Error(`"${merchantId}" is no merchant id of the monolith`);
  return id;
}

/**
 * The `merchants` table mapped to the `merchants` entity stream. `prefix`
 * prefixes the source's and the topics' names, as the catalog's does.
 */
export function defineMerchantsFromMonolith(prefix: string, entityFormat: ValueFormat<Merchant>): CdcMapping<Merchant> {
  // A source name is a replication slot's name too: lower-case letters, digits and "_".
  const sourceName = `${prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_')}monolith`;
  return defineCdcMapping<Merchant>({
    name: `${prefix}merchants-from-monolith`,
    source: { name: sourceName, database: sourceName, localSchemaSql: MONOLITH_SCHEMA_SQL },
    table: 'public.merchants',
    entityTopic: `${prefix}merchants`,
    deadLetterTopic: `${prefix}merchants-from-monolith.dlq`,
    // A delete carries only the primary key: the id is built from it alone.
    entityKey: (row) => `merchant-${integerColumn(row, 'id')}`,
    toEntity: (row) => {
      const country = textColumn(row, 'country_code').toUpperCase();
      if (!/^[A-Z]{2}$/.test(country)) throw new Error(`country_code "${row.country_code}" is no ISO 3166-1 alpha-2 code`);
      const website = textColumn(row, 'website_url');
      // credit_limit_cents and updated_at are the monolith's own business: they never leave it.
      return {
        merchantId: `merchant-${integerColumn(row, 'id')}`,
        name: nonEmpty(row, 'display_name'),
        country,
        website: website === '' ? null : website,
      };
    },
    entityFormat,
  });
}

function integerColumn(row: Row, column: string): number {
  const value = row[column];
  if (!Number.isSafeInteger(value)) throw new Error(`column ${column} is ${JSON.stringify(value)}, not an integer`);
  return value as number;
}

function textColumn(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new Error(`column ${column} is ${JSON.stringify(value)}, not text`);
  return value;
}

function nonEmpty(row: Row, column: string): string {
  const value = textColumn(row, column).trim();
  if (value === '') throw new Error(`column ${column} is empty`);
  return value;
}
