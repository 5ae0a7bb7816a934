/**
 * Prints one plain closing line per jest run, `<project>: N passed, N failed[, N skipped]`,
 * which CI reads to tell a run that tested something from one that ran nothing,
 * preceded by the full name of every skipped test.
 */
class SummaryReporter {
  constructor() {
    const selected = process.argv.indexOf('--selectProjects');
    this.label = selected === -1 ? 'jest' : process.argv[selected + 1];
  }

  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${this.label}: ${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
    // A skipped test is never counted as passing: each is named, with the reason its suite gives.
    const skippedNames = results.testResults.flatMap((file) =>
      file.testResults.filter((test) => test.status === 'pending' || test.status === 'todo').map((test) => `  skipped: ${test.fullName}`),
    );
    // Written as the process exits, after jest's own summary, so that it is the closing line.
    process.once('exit', () => process.stderr.write(`${[...skippedNames, line].join('\n')}\n`));
  }
}

module.exports = SummaryReporter;
