export { decodeJsonValue, decodeKey, headerText, recordsOf } from './decode';
export { InvalidRecordError } from './errors';
