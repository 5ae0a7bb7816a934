import { jsonValueFormat, type ValueFormat } from '../schemas/value-format';
import { JoinDeclarationError } from './errors';

/** `inner` emits only when both sides exist; `left` also emits `joiner(left, null)`. */
export type JoinType = 'inner' | 'left';

/**
 * A KTable-KTable foreign-key join (Kafka Streams' KIP-213), computed by two
 * Lambda consumers with their state in DynamoDB. Outputs are keyed by the left key.
 */
export interface JoinDeclaration<L, R, O> {
  /** Unique in the pipeline; names the consumers and the join-state table. */
  readonly name: string;
  /** Entity topic of the left side (keyed, compacted, tombstone = delete). */
  readonly leftTopic: string;
  /** Entity topic of the right side, keyed by what `foreignKey` returns. */
  readonly rightTopic: string;
  /** Entity topic the join writes, keyed by the left key. */
  readonly outputTopic: string;
  /** Dead-letter topic for input records without a key or with a value their topic's format cannot read. */
  readonly deadLetterTopic: string;
  readonly type: JoinType;
  /** The right key a left value refers to, or null when it refers to none. */
  foreignKey(left: L): string | null;
  /**
   * The output for a left value and its right value (null when there is none, in a left join). Must be pure,
   * and must not change its arguments: one decoded right value is shared by every left row of a batch that joins it.
   */
  joiner(left: L, right: R | null): O;
  /**
   * How each topic lays out its values on the wire (e.g. Avro in the Confluent
   * wire format), and the one conversion to and from the values the foreign-key
   * extractor and joiner see: each input value is decoded once, each output
   * encoded once. A left or right value its format cannot read is dead-lettered
   * with the reason (to check JSON inputs against a schema, use
   * `validatedJsonValueFormat`). The output's `encode` must not refuse what the
   * joiner returns: it runs after the join's state is written, where a refusal
   * could only stall the partition.
   * @default JSON on all three topics
   */
  readonly formats?: { readonly left?: ValueFormat<L>; readonly right?: ValueFormat<R>; readonly output?: ValueFormat<O> };
}

/** A join with its formats resolved. */
export interface FkJoin<L = unknown, R = unknown, O = unknown> extends JoinDeclaration<L, R, O> {
  readonly formats: { readonly left: ValueFormat<L>; readonly right: ValueFormat<R>; readonly output: ValueFormat<O> };
}

const NAME = /^[a-zA-Z0-9._-]{1,100}$/;

/**
 * Declares a foreign-key join. Keep it in its own module: the pipeline
 * declaration and the join's handler module both import it, so the functions
 * run unchanged in Lambda and locally.
 *
 * @example
 * export const itemsWithFlyer = defineJoin<Item, Flyer, ItemWithFlyer>({
 *   name: 'items-with-flyer',
 *   leftTopic: 'items', rightTopic: 'flyers', outputTopic: 'items-with-flyer', deadLetterTopic: 'items-with-flyer.dlq',
 *   type: 'left',
 *   foreignKey: (item) => item.flyerId ?? null,
 *   joiner: (item, flyer) => ({ ...item, flyer }),
 * });
 */
export function defineJoin<L, R, O>(declaration: JoinDeclaration<L, R, O>): FkJoin<L, R, O> {
  if (!NAME.test(declaration.name)) {
    throw new JoinDeclarationError(`join name "${declaration.name}" must be 1–100 letters, digits, ".", "_" or "-"`);
  }
  if (declaration.type !== 'inner' && declaration.type !== 'left') {
    throw new JoinDeclarationError(`join "${declaration.name}": type must be "inner" or "left", got "${String(declaration.type)}"`);
  }
  const topics = [declaration.leftTopic, declaration.rightTopic, declaration.outputTopic, declaration.deadLetterTopic];
  if (new Set(topics).size !== topics.length) {
    throw new JoinDeclarationError(
      `join "${declaration.name}": the left, right, output and dead-letter topics must be four different topics`,
    );
  }
  return Object.freeze({
    ...declaration,
    formats: {
      left: declaration.formats?.left ?? jsonValueFormat<L>(),
      right: declaration.formats?.right ?? jsonValueFormat<R>(),
      output: declaration.formats?.output ?? jsonValueFormat<O>(),
    },
  });
}

/** Attribute DynamoDB's TTL reads (epoch seconds) in a join-state table; only retired subscriptions carry it. */
export const JOIN_STATE_TTL_ATTRIBUTE = 'expiresAt';

/** The environment variable that carries a join's state table name to its handlers. */
export function joinStateTableVariable(joinName: string): string {
  return `${joinName.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}_JOIN_STATE_TABLE_NAME`;
}
