/**
 * Prints one plain closing line per jest run, `<project>: N passed, N failed[, N skipped]`,
 * which CI reads to tell a run that tested something from one that ran nothing.
 */
class SummaryReporter {
  constructor(globalConfig) {
    this.label = (globalConfig.selectProjects ?? []).join('+') || 'jest';
  }

  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${this.label}: ${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
    process.stdout.write(`\n${line}\n`);
  }
}

module.exports = SummaryReporter;
