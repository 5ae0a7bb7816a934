export { isNewerChange, parseChangeEvent, type ChangeEvent, type ChangePosition, type Row } from './change-event';
export { CDC_POSITIONS_KEY, ChangePositionsStore } from './change-positions-store';
export {
  CDC_POSITION_HEADER,
  createCdcMappingHandler,
  MAX_ENTITY_BYTES,
  MAX_ENTITY_KEY_BYTES,
  type CdcMappingHandler,
  type CdcMappingHandlerOptions,
} from './create-cdc-mapping-handler';
export {
  cdcPositionsTableVariable,
  defineCdcMapping,
  MAX_CHANGE_EVENT_BYTES,
  type CdcMapping,
  type CdcMappingDeclaration,
  type CdcSource,
} from './define-cdc-mapping';
export { CdcDeclarationError, CdcError, InvalidChangeError } from './errors';
export { debeziumConnectorConfig, type CapturedTable, type SourceDatabaseConnection } from './connector-config';
