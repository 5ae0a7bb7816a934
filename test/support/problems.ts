/** An error that lists what is wrong, one problem a line (a pipeline declaration's, a deployment configuration's). */
type ProblemsError = abstract new (...args: never[]) => Error & { readonly problems: readonly string[] };

/** The problems `run` reports by throwing an `errorType`, or fails the test when it throws nothing. */
export function problemsOf(errorType: ProblemsError, run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(errorType);
    return (error as InstanceType<ProblemsError>).problems;
  }
  throw new Error(`expected a ${errorType.name}, but nothing was thrown`);
}
