/**
 * Prints one plain closing line per jest run, `<project>: N passed, N failed[, N skipped]`,
 * which CI reads to tell a run that tested something from one that ran nothing.
 */
class SummaryReporter {
  constructor() {
    const selected = process.argv.indexOf('--selectProjects');
    this.label = selected === -1 ? 'jest' : process.argv[selected + 1];
  }

  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${this.label}: ${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
    // Written as the process exits, after jest's own summary, so that it is the closing line.
    process.once('exit', () => process.stderr.write(`${line}\n`));
  }
}

module.exports = SummaryReporter;
