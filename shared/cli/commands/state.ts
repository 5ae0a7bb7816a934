import { UsageError, type CliContext } from '../context';
import { storedStateOf, type HotStateView, type JoinStateView } from '../operations/stored-state';

/** `state <join|hot stream> <key>`: what a join holds for a key (as left key and as right key), or what a hot stream holds. */
export async function stateCommand(context: CliContext, name: string | undefined, key: string | undefined): Promise<void> {
  if (!name || !key) throw new UsageError('state needs a join or hot stream name and a key');
  const state = await storedStateOf(context, name, key);
  context.print(state, () => (state.kind === 'join' ? joinStateAsText(state) : hotStateAsText(state)));
}

/** A JSON value indented under a heading. */
function block(value: unknown, indent: string): string {
  return JSON.stringify(value, null, 2)
    .split('\n')
    .map((line) => `${indent}${line}`)
    .join('\n');
}

/** A join's state for people: one section per role of the key, values as indented JSON. */
function joinStateAsText(state: JoinStateView): string {
  const lines = [`join ${state.join}, key ${state.key}`];
  if (state.asLeft) {
    const left = state.asLeft;
    lines.push(
      `as left row: offset ${left.leftOffset}, foreign key ${left.foreignKey ?? '(none)'}, subscribed at ${left.subscribedAt ?? '(not subscribed)'}, rev ${left.rev}`,
      `  output: position ${left.output.position}, last published ${left.output.lastPublished}`,
      '  value:',
      block(left.value, '    '),
    );
  } else lines.push('as left row: none');
  if (state.asRight) lines.push(`as right row: offset ${state.asRight.rightOffset}`, '  value:', block(state.asRight.value, '    '));
  else lines.push('as right row: none');
  lines.push(`subscribers (as right key, first 50): ${state.subscribers.length === 0 ? 'none' : ''}`);
  for (const subscriber of state.subscribers)
    lines.push(`  ${subscriber.leftKey} subscribed at ${subscriber.subscribedAt}${subscriber.retired ? ' (retired)' : ''}`);
  return lines.join('\n');
}

/** A hot stream's state for people: the stored update, what was emitted, what is owed. */
function hotStateAsText(view: HotStateView): string {
  const state = view.state;
  if (!state) return `hot stream ${view.stream}, key ${view.key}: nothing stored`;
  return [
    `hot stream ${view.stream}, key ${view.key}`,
    `stored update: offset ${state.sourceOffset}, trace ${state.traceId ?? '(none)'}`,
    block(state.value, '    '),
    `last emitted: ${state.emittedOffset === null ? 'nothing yet' : `offset ${state.emittedOffset} at ${state.emittedAt}`}${state.emissionClaimed ? ' (claimed, unconfirmed: emitted again)' : ''}`,
    ...(state.emittedValue === null ? [] : [block(state.emittedValue, '    ')]),
    `pending: ${state.pending ? `in ${state.pending.partition}, due ${state.pending.dueAt ?? '(now)'}` : 'nothing owed'}`,
  ].join('\n');
}
