/**
 * `npm run bench`: every benchmark, one after the other, each on its own local
 * services. Numbers and ratios only; nothing here passes or fails.
 *
 *   npm run bench                  all
 *   npm run bench -- event-source  just the emulator benchmark
 *   npm run bench -- fk-join       just the join benchmark
 *   npm run bench -- hot-path      just the high-frequency path benchmark
 *   npm run bench -- bundles       just the function bundle sizes
 *   npm run bench -- formats       just what the Avro wire format costs per record
 */
import { benchEventSource } from './event-source-throughput';
import { benchJoin } from './fk-join-throughput';
import { benchFunctionBundles } from './function-bundle-sizes';
import { benchHotPath } from './hot-path-throughput';
import { benchValueFormats } from './value-format-throughput';

const benchmarks: Record<string, () => Promise<void>> = {
  'event-source': benchEventSource,
  'fk-join': benchJoin,
  'hot-path': benchHotPath,
  bundles: benchFunctionBundles,
  formats: benchValueFormats,
};

async function main(): Promise<void> {
  const selected = process.argv.slice(2).filter((name) => !name.startsWith('-'));
  for (const [name, bench] of Object.entries(benchmarks)) {
    if (selected.length > 0 && !selected.includes(name)) continue;
    console.log(`\n=== ${name} ===`);
    await bench();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
