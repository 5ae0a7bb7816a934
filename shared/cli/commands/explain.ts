import { UsageError, type CliContext } from '../context';
import { explainRecord, type Lineage, type LineageInput } from '../operations/lineage';

/** `explain <topic> <key>`: the newest record of a key on a join's output, and the input records it was joined from. */
export async function explainCommand(context: CliContext, topic: string | undefined, key: string | undefined): Promise<void> {
  if (!topic || !key) throw new UsageError('explain needs a topic and a key');
  const explanation = await explainRecord(context, topic, key);
  context.print(explanation, () =>
    explanation.lineage === null
      ? `no record of key ${key} on ${topic} (within the last records of its partition): nothing to explain`
      : lineageAsText(explanation.lineage, '', '').join('\n'),
  );
}

/** A record and, for a join's result, its two inputs below it as a tree. */
function lineageAsText(lineage: Lineage, first: string, rest: string): string[] {
  const { record, join } = lineage;
  const where = `${record.topic}-${record.partition}@${record.offset}`;
  const trace = record.trace ? ` trace ${record.trace.traceId} span ${record.trace.spanId}` : ' (no trace)';
  const lines = [
    `${first}${where} key ${record.key ?? '(none)'} at ${record.timestamp}${trace}`,
    `${rest}  value: ${record.value === null ? '(tombstone)' : JSON.stringify(record.value)}`,
  ];
  if (!join) return lines;
  lines.push(`${rest}  joined by ${join.name} (${join.type} join) at position ${join.position}, caused by ${causeText(join.causedBy)}`);
  lines.push(...inputAsText('left ', join.left, `${rest}  ├ `, `${rest}  │ `));
  lines.push(...inputAsText('right', join.right, `${rest}  └ `, `${rest}    `));
  return lines;
}

function inputAsText(side: string, input: LineageInput, first: string, rest: string): string[] {
  if (input.kind === 'record') return lineageAsText(input.lineage, `${first}${side} `, rest);
  if (input.kind === 'none') return [`${first}${side} ${input.topic}: none, ${input.why}`];
  return [`${first}${side} ${input.topic} key ${input.key} offset ${input.offset}: not shown, ${input.why}`];
}

function causeText(cause: 'left' | 'right' | 'unknown'): string {
  if (cause === 'unknown') return 'an input whose span neither record carries (an older result, or one without a trace)';
  return `its ${cause} record (the result's x-trace-cause is that record's span)`;
}
