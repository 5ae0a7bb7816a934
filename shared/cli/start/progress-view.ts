import type { EventSourceMapping } from '../../local/event-source';

/** One screen of live progress: a row per consumer, then the latest warnings. */
export function renderProgress(
  mappings: readonly EventSourceMapping[],
  lag: ReadonlyMap<string, number>,
  recentWarnings: readonly string[],
  uptimeMs: number,
  flows: readonly string[] = [],
  consoleUrl?: string,
): string {
  const header = ['consumer', 'state', 'fetched', 'succeeded', 'invocations', 'failed inv.', 'dead-lettered', 'lag'];
  const rows = mappings.map((mapping) => {
    const stats = mapping.stats;
    return [
      mapping.name,
      // A consumer disabled with `platform mapping disable` is stopped; its counts start again when enabled.
      mapping.polling ? 'polling' : 'stopped',
      stats.recordsFetched,
      stats.recordsSucceeded,
      stats.invocations,
      stats.failedInvocations,
      stats.recordsDeadLettered,
      lag.get(mapping.name) ?? '?',
    ].map(String);
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ');
  return [
    `Local platform — up ${Math.round(uptimeMs / 1000)} s — Ctrl-C to stop`,
    ...(consoleUrl ? [`Console: ${consoleUrl}`] : []),
    '',
    line(header),
    ...rows.map(line),
    '',
    ...(flows.length > 0 ? [...flows, ''] : []),
    recentWarnings.length > 0 ? 'Recent warnings:' : 'No warnings.',
    ...recentWarnings.map((warning) => `  ${warning.slice(0, 200)}`),
  ].join('\n');
}
