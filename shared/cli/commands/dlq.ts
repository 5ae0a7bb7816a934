import { UsageError, type CliContext } from '../context';
import { deadLettersOf, letterAt, letterInFull, letterSummary, parseLetterPosition, redriveLetters } from '../operations/dead-letters';

/** `dlq list|show|redrive <consumer> [--offset P:O]`. */
export async function dlqCommand(
  context: CliContext,
  action: string | undefined,
  consumerName: string | undefined,
  at: string | undefined,
): Promise<void> {
  if (!action || !['list', 'show', 'redrive'].includes(action)) throw new UsageError('dlq needs an action: list, show or redrive');
  if (!consumerName) throw new UsageError(`dlq ${action} needs a consumer name`);
  const position = at === undefined ? undefined : parseLetterPosition(at, '--offset');
  const { consumer, topic, letters } = await deadLettersOf(context, consumerName);

  if (action === 'list') {
    const rows = letters.map(letterSummary);
    context.print({ consumer: consumerName, topic, letters: rows }, () =>
      [
        `${rows.length} dead-lettered record(s) of ${consumerName} in ${topic}`,
        ...rows.map(
          (row) =>
            `  ${row.partition}:${row.offset} key=${row.key ?? '(none)'} trace=${row.traceId ?? '(none)'} from ${row.source} ${row.reason}: ${row.error}`,
        ),
      ].join('\n'),
    );
    return;
  }
  if (action === 'show') {
    if (!position) throw new UsageError('dlq show needs --offset <partition>:<offset>');
    const record = await letterInFull(context, topic, letterAt(letters, consumer, topic, position));
    context.print(record, () => JSON.stringify(record, null, 2));
    return;
  }
  const only = position === undefined ? undefined : letterAt(letters, consumer, topic, position);
  const outcome = await redriveLetters(context, consumer, topic, letters, only);
  const { redriven, alreadyRedriven, offset } = outcome;
  context.print(outcome, () =>
    offset === undefined
      ? `redrove ${redriven} record(s) of ${consumerName} from ${topic} to their source topic; ${alreadyRedriven} had been redriven before`
      : redriven === 1
        ? `redrove the letter ${offset} of ${consumerName} from ${topic} to its source topic`
        : `the letter ${offset} of ${consumerName} in ${topic} had been redriven before: nothing sent`,
  );
}
