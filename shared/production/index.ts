export { EntityProducer, InvalidEntityError, STANDARD_HEADERS, type EntityProducerOptions, type PublishContext } from './entity-producer';
