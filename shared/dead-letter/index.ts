export {
  DEAD_LETTER_HEADERS,
  KafkaDeadLetterPublisher,
  type DeadLetter,
  type DeadLetterReason,
} from './kafka-dead-letter-publisher';
export { DeadLetterPublishError } from './errors';
