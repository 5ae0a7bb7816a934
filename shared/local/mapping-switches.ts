import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The local stand-in for an event source mapping's `Enabled` flag: a consumer
 * is disabled while `<dir>/<consumer>.disabled` exists (`.local/mappings/`
 * unless LOCAL_MAPPINGS_DIR says otherwise). `npm start`
 * watches these files and stops or restarts that consumer's mapping; the CLI
 * (`platform mapping disable|enable`) writes them. Like AWS's flag it outlives
 * a restart: a disabled consumer stays disabled until it is enabled again.
 *
 * Files, not a message to the running process, so the switch works whether or
 * not `npm start` runs and can be seen with `ls`.
 */
function switchFile(dir: string, consumerName: string): string {
  return join(dir, `${encodeURIComponent(consumerName)}.disabled`);
}

export function isMappingEnabled(dir: string, consumerName: string): boolean {
  return !existsSync(switchFile(dir, consumerName));
}

export function setMappingEnabled(dir: string, consumerName: string, enabled: boolean): void {
  const file = switchFile(dir, consumerName);
  if (enabled) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${new Date().toISOString()}\n`);
}

/** The consumers disabled now. */
export function disabledMappings(dir: string): string[] {
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
  dir: string,
  consumerNames: readonly string[],
  onChange: (consumerName: string, enabled: boolean) => void,
  intervalMs = 500,
): () => void {
  const known = new Map(consumerNames.map((name) => [name, isMappingEnabled(dir, name)]));
  const timer = setInterval(() => {
    for (const [name, was] of known) {
      const now = isMappingEnabled(dir, name);
      if (now === was) continue;
      known.set(name, now);
      onChange(name, now);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
