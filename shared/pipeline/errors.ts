import { PlatformError } from '../errors';

/** A pipeline declaration that cannot be deployed or run; lists every problem found. */
export class PipelineDeclarationError extends PlatformError {
  override readonly name = 'PipelineDeclarationError';
  constructor(
    readonly pipelineName: string,
    readonly problems: readonly string[],
  ) {
    super(`Pipeline "${pipelineName}" is not valid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}
