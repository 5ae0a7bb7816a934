export {
  DELETED_ATTRIBUTE,
  projectEntityRecords,
  SOURCE_OFFSET_ATTRIBUTE,
  type EntityProjectionOptions,
  type ProjectionResult,
} from './project-entity-records';
