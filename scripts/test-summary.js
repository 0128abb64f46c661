#!/usr/bin/env node
// Prints the last line CI reads: "N passed, N failed" (plus ", N skipped" when any), from
// vitest's JSON reporter output. vitest's own summary is not meant for machines, and a
// run that executed nothing must be visible: a missing or unreadable report counts as
// one failure. A test file that failed to load (no test results of its own) counts as
// one failed test, so a broken import cannot pass as "0 failed"; so does a run vitest
// marks unsuccessful with no failed test (an unhandled error).
//
// Usage: node scripts/test-summary.js <vitest-json-report>
// Exit status: 1 when anything failed or the report is missing, else 0.
import { readFileSync } from 'node:fs';

function summarize(file) {
  if (!file) return { passed: 0, failed: 1, skipped: 0, note: 'usage: test-summary.js <vitest-json-report>' };
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return { passed: 0, failed: 1, skipped: 0, note: `cannot read ${file}: ${err.code ?? err.message}` };
  }
  const count = (value) => (Number.isInteger(value) && value >= 0 ? value : 0);
  const passed = count(report.numPassedTests);
  let failed = count(report.numFailedTests);
  const skipped = count(report.numPendingTests) + count(report.numTodoTests);
  const brokenFiles = [];
  for (const suite of Array.isArray(report.testResults) ? report.testResults : []) {
    const assertions = Array.isArray(suite.assertionResults) ? suite.assertionResults : [];
    if (suite.status === 'failed' && !assertions.some((a) => a.status === 'failed')) {
      failed += 1;
      brokenFiles.push(suite.name ?? '(unnamed file)');
    }
  }
  const notes = [];
  if (brokenFiles.length > 0) notes.push(`test files that failed outside any test: ${brokenFiles.join(', ')}`);
  // An unhandled error (a rejection after a test ended) fails the run without failing a test.
  if (report.success === false && failed === 0) {
    failed = 1;
    notes.push('vitest reported a failure outside any test (unhandled error?)');
  }
  return { passed, failed, skipped, note: notes.join('; ') };
}

const { passed, failed, skipped, note } = summarize(process.argv[2]);
if (note) process.stderr.write(`test-summary: ${note}\n`);
process.stdout.write(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
process.exitCode = failed > 0 ? 1 : 0;
