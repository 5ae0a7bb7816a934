export { COMPATIBILITY_LEVELS, compatibilityProblems, type CompatibilityLevel } from './compatibility';
export { IncompatibleSchemaError, InvalidSchemaError, SchemaError, SchemaValidationError, UnknownSchemaError, WireFormatError } from './errors';
export { catalogCompatibilityProblems, loadSchemaCatalog, valueSubject, type SchemaVersion, type SubjectSchemas } from './schema-catalog';
export { canonicalForm, FileSchemaRegistry, HttpSchemaRegistry, type SchemaRegistry } from './schema-registry';
export { TopicSerde } from './topic-serde';
export { decodeWireFormat, encodeWireFormat, MAGIC_BYTE } from './wire-format';
export { validatedJsonCodec } from './validated-json-codec';
export { repositorySchemas, SCHEMAS_DIR_VARIABLE } from './repository-schemas';
