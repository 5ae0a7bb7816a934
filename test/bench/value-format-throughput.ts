/**
 * What the wire format costs per record: the example domain's offers written
 * and read as JSON text and as Avro in the Confluent wire format (schema id
 * from the file-backed registry, cached after the first record), and the bytes
 * each takes on the broker. CPU only: no broker, no network.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCatalog, offerOf } from '../../example';
import { seededRandom } from '../../shared/random';
import { avroValueFormat, FileSchemaRegistry, JSON_VALUE_FORMAT, repositorySchemas, type ValueFormat } from '../../shared/schemas';

const OFFERS = 20_000;

export async function benchValueFormats(): Promise<void> {
  const data = generateCatalog({ merchants: 50, flyers: 500, items: OFFERS }, seededRandom(11));
  const flyers = new Map(data.flyers.map((flyer) => [flyer.flyerId, flyer]));
  const merchants = new Map(data.merchants.map((merchant) => [merchant.merchantId, merchant]));
  const offers = data.items.map((item) => {
    const flyer = flyers.get(item.flyerId)!;
    return offerOf(item, flyer, merchants.get(flyer.merchantId) ?? null);
  });
  const registry = new FileSchemaRegistry(join(mkdtempSync(join(tmpdir(), 'bench-registry-')), 'registry.json'));
  const formats: Array<[string, ValueFormat]> = [
    ['JSON', JSON_VALUE_FORMAT],
    [
      'Avro, wire format',
      avroValueFormat({ topic: 'offers', schemas: repositorySchemas().get('offers-value')!, registry: () => registry }),
    ],
  ];
  const rows = [];
  let jsonRate = { write: 0, read: 0 };
  for (const [name, format] of formats) {
    await format.decode(await format.encode(offers[0]!)); // registers the schema and caches its id and resolver
    let started = process.hrtime.bigint();
    const written: Buffer[] = [];
    for (const offer of offers) written.push(await format.encode(offer));
    const writeRate = OFFERS / (Number(process.hrtime.bigint() - started) / 1e9);
    started = process.hrtime.bigint();
    for (const bytes of written) await format.decode(bytes);
    const readRate = OFFERS / (Number(process.hrtime.bigint() - started) / 1e9);
    if (name === 'JSON') jsonRate = { write: writeRate, read: readRate };
    const bytes = written.reduce((sum, value) => sum + value.length, 0) / OFFERS;
    rows.push({
      format: name,
      'writes/s': Math.round(writeRate),
      'reads/s': Math.round(readRate),
      'bytes/record': Math.round(bytes),
      'write vs JSON': `${(writeRate / jsonRate.write).toFixed(2)}×`,
      'read vs JSON': `${(readRate / jsonRate.read).toFixed(2)}×`,
    });
  }
  console.log(`\nValue formats: ${OFFERS} offers (the Core Event), written then read back, in one process.`);
  console.table(rows);
  console.log(
    'JSON encodes and decodes with JSON.stringify and JSON.parse; Avro also validates, fills defaults and resolves against the newest schema.',
  );
}
