/**
 * The live view's latest warnings, with repeats collapsed into one line and a count, so a
 * client that fails the same way many times a second (a broker gone for a moment) shows one
 * line, not a flood.
 */
export class RecentWarnings {
  private readonly entries: Array<{ key: string; text: string; count: number }> = [];

  constructor(private readonly capacity = 5) {}

  add(text: string): void {
    // Timestamps, offsets and correlation ids differ between repeats of one warning.
    const key = text.replace(/\d+/g, '#');
    const index = this.entries.findIndex((entry) => entry.key === key);
    if (index >= 0) {
      const [entry] = this.entries.splice(index, 1);
      this.entries.push({ key, text, count: entry!.count + 1 });
      return;
    }
    this.entries.push({ key, text, count: 1 });
    if (this.entries.length > this.capacity) this.entries.shift();
  }

  lines(): string[] {
    return this.entries.map(({ text, count }) => (count > 1 ? `(×${count}) ${text}` : text));
  }
}

/**
 * Routes what kafkajs's default logger prints (one JSON object a line, `"logger":"kafkajs"`: the
 * handlers' own producers log this way) into `report`, as one short line each, instead of the
 * terminal. Everything else passes through. Returns a function that restores the console.
 */
export function captureKafkaJsConsole(report: (line: string) => void): () => void {
  const originals = { error: console.error, warn: console.warn, info: console.info, log: console.log };
  for (const method of ['error', 'warn', 'info', 'log'] as const) {
    console[method] = (...args: unknown[]) => {
      const line = kafkaJsLine(args[0]);
      if (line !== undefined && args.length === 1) report(line);
      else originals[method](...args);
    };
  }
  return () => Object.assign(console, originals);
}

function kafkaJsLine(first: unknown): string | undefined {
  if (typeof first !== 'string' || !first.startsWith('{"level":') || !first.includes('"logger":"kafkajs"')) return undefined;
  try {
    const entry = JSON.parse(first) as { level?: string; message?: string; clientId?: string };
    return `${entry.level ?? 'ERROR'} kafkajs${entry.clientId ? ` (${entry.clientId})` : ''}: ${entry.message ?? first}`;
  } catch {
    return undefined;
  }
}
