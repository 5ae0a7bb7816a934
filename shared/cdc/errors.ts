import { PlatformError } from '../errors';

/** Base of the change-data-capture module's errors. */
export class CdcError extends PlatformError {
  override readonly name: string = 'CdcError';
}

/** A change record the mapping cannot use (not a Debezium change event, a row the mapping refuses): dead-lettered with the reason. */
export class InvalidChangeError extends CdcError {
  override readonly name = 'InvalidChangeError';
}

/** A mapping declaration that cannot work. */
export class CdcDeclarationError extends CdcError {
  override readonly name = 'CdcDeclarationError';
}
