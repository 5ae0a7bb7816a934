export { COMPATIBILITY_LEVELS, compatibilityProblems, type CompatibilityLevel } from './compatibility';
export {
  IncompatibleSchemaError,
  InvalidSchemaError,
  SchemaError,
  SchemaRegistryUnavailableError,
  SchemaValidationError,
  UnknownSchemaError,
  UnreadableValueError,
  WireFormatError,
  type UnreadableValueReason,
} from './errors';
export {
  subjectsCompatibilityProblems,
  loadSubjectSchemas,
  valueSubject,
  type SchemaVersion,
  type SubjectSchemas,
} from './subject-schemas';
export {
  canonicalForm,
  FileSchemaRegistry,
  HttpSchemaRegistry,
  type HttpSchemaRegistryOptions,
  type SchemaRegistry,
} from './schema-registry';
export { TopicSerde } from './topic-serde';
export { decodeWireFormat, encodeWireFormat, MAGIC_BYTE } from './wire-format';
export { undeclaredFields } from './record-values';
export { validatedJsonValueFormat } from './validated-json-value-format';
export { decodeRecordValue } from './record-value';
export { repositorySchemas, SCHEMAS_DIR_VARIABLE } from './repository-schemas';
export {
  avroValueFormat,
  JSON_VALUE_FORMAT,
  readValue,
  topicValueFormat,
  writeValue,
  type AvroValueFormatOptions,
  type TopicValueDeclaration,
  type ValueFormat,
} from './value-format';
export { lazySchemaRegistry, SCHEMA_REGISTRY_VARIABLES, schemaRegistryFromEnvironment } from './registry-from-environment';
