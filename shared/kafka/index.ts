export { connectOnce, kafkaFromEnvironment, orderedProducer } from './kafka-client';
export { READ_RANGE_GROUP_PREFIX, readPartitionRange, type PartitionRange, type ReadPartitionRangeOptions } from './read-partition-range';
export { chunkBySize, estimatedMessageBytes, MAX_PRODUCE_REQUEST_BYTES } from './chunk-by-size';
export { sendChunked, topicRecordCount } from './send-chunked';
export { KAFKA_AUTHS, kafkaClientConfig, kafkaConnectionFromEnvironment, type KafkaAuth, type KafkaConnection } from './kafka-connection';
export { sourceRecordOfKafkaMessage } from './source-record';
