import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The local stand-in for an event source mapping's `Enabled` flag: a consumer
 * is disabled while `.local/mappings/<consumer>.disabled` exists. `npm start`
 * watches these files and stops or restarts that consumer's mapping; the CLI
 * (`platform mapping disable|enable`) writes them. Like AWS's flag it outlives
 * a restart: a disabled consumer stays disabled until it is enabled again.
 *
 * Files, not a message to the running process, so the switch works whether or
 * not `npm start` runs and can be seen with `ls`.
 */
export const MAPPINGS_DIR_NAME = 'mappings';

function switchFile(stateDir: string, consumerName: string): string {
  return join(stateDir, MAPPINGS_DIR_NAME, `${encodeURIComponent(consumerName)}.disabled`);
}

export function isMappingEnabled(stateDir: string, consumerName: string): boolean {
  return !existsSync(switchFile(stateDir, consumerName));
}

export function setMappingEnabled(stateDir: string, consumerName: string, enabled: boolean): void {
  const file = switchFile(stateDir, consumerName);
  if (enabled) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(join(stateDir, MAPPINGS_DIR_NAME), { recursive: true });
  writeFileSync(file, `${new Date().toISOString()}\n`);
}

/** The consumers disabled now. */
export function disabledMappings(stateDir: string): string[] {
  const dir = join(stateDir, MAPPINGS_DIR_NAME);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.disabled'))
    .map((name) => decodeURIComponent(name.slice(0, -'.disabled'.length)));
}

/**
 * Calls `onChange` whenever a consumer's switch flips, checking every `intervalMs`
 * (polling: `fs.watch` misses events on some file systems). Returns a function that stops watching.
 */
export function watchMappingSwitches(
  stateDir: string,
  consumerNames: readonly string[],
  onChange: (consumerName: string, enabled: boolean) => void,
  intervalMs = 500,
): () => void {
  const known = new Map(consumerNames.map((name) => [name, isMappingEnabled(stateDir, name)]));
  const timer = setInterval(() => {
    for (const [name, was] of known) {
      const now = isMappingEnabled(stateDir, name);
      if (now === was) continue;
      known.set(name, now);
      onChange(name, now);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
