// test-reporter.mjs: the short `npm test` reporter (scripts/test.js passes it to
// `node --test --test-reporter=...`; the full TAP goes to a file through a second reporter).
// It prints each failure as it arrives (test name, file:line, the error's message and stack;
// for a test file that failed as a whole, the tail of that file's stderr) and writes the counts
// and per-file durations as JSON to $CFFI_TEST_SUMMARY, from which scripts/test.js prints the
// closing line. Counted: every test that ran (like Node's own "tests N"), minus suites and the
// per-file wrapper tests of older Node versions; a test skipped because --test-name-pattern
// (or --test-only) filtered it out is "filtered", neither passed nor skipped. Unknown events
// are ignored, and every field is optional, so new Node versions can add events and fields.
import fs from "node:fs";
import path from "node:path";
import util from "node:util";

const FILTERED = /does not match pattern|not marked only|only option/i;
const cwd = process.cwd();

const rel = (file) => (file ? path.relative(cwd, file) || file : "");
// The test that stands for a whole file (named by its path); on Node 18 it wraps the file's tests.
// (Only absolute paths: a test may well be named after a relative one, e.g. "examples/qsort.js".)
const isFileWrapper = (d) => typeof d.name === "string" && !d.nesting && (d.name === d.file ||
  (path.isAbsolute(d.name) && /\.[cm]?[jt]s$/.test(d.name)));

// The error to show: the test runner wraps the test's error in an ERR_TEST_FAILURE whose
// cause is the original (or a string, e.g. for a timeout).
function describeError(err) {
  if (err == null) return "(no error details)";
  const inner = err.code === "ERR_TEST_FAILURE" && err.cause !== undefined ? err.cause : err;
  let text;
  if (inner instanceof Error || (inner && typeof inner.stack === "string")) {
    text = typeof inner.stack === "string" && inner.stack.includes(String(inner.message)) ? inner.stack
      : `${inner.name || "Error"}: ${inner.message}\n${inner.stack || ""}`;
    // drop the test runner's own frames (keep them if nothing else is left)
    const lines = text.split("\n");
    const kept = lines.filter((l) => !/^\s+at .*\((node:internal\/|node:async_hooks)|^\s+at (node:internal\/|async Promise\.all)/.test(l));
    if (kept.length > 1) text = kept.join("\n");
  } else {
    text = typeof inner === "string" ? inner : util.inspect(inner, { depth: 4 });
  }
  if (err.failureType && !["testCodeFailure", "hookFailure"].includes(err.failureType)) text += `\n(${err.failureType})`;
  return text.trimEnd();
}

const indent = (s, pad = "    ") => s.split("\n").map((l) => pad + l).join("\n");

export default async function* cffiReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0, todo: 0, filtered: 0, cancelled: 0 };
  const files = {}; // file -> { duration_ms, tests, stderr: [lines] }
  const names = {}; // file -> names by nesting, from test:start
  const skippedList = [];
  const fileOf = (d) => d.file || "";
  const fileInfo = (f) => (files[f] ??= { duration_ms: 0, topLevelMs: 0, tests: 0, stderr: [] });

  for await (const event of source) {
    const type = event && event.type;
    const d = (event && event.data) || {};
    try {
      if (type === "test:start") {
        (names[fileOf(d)] ??= [])[d.nesting || 0] = d.name;
      } else if (type === "test:stderr" || type === "test:stdout") {
        if (type === "test:stderr" && typeof d.message === "string") {
          const info = fileInfo(fileOf(d));
          info.stderr.push(...d.message.split("\n").filter(Boolean));
          if (info.stderr.length > 40) info.stderr.splice(0, info.stderr.length - 40);
        }
      } else if (type === "test:complete" && isFileWrapper(d)) {
        if (d.details && d.details.duration_ms) fileInfo(fileOf(d) || d.name).duration_ms = d.details.duration_ms;
      } else if (type === "test:pass" || type === "test:fail") {
        const details = d.details || {};
        const file = fileOf(d);
        if (details.type === "suite") continue;
        if (isFileWrapper(d)) {
          if (details.duration_ms) fileInfo(file || d.name).duration_ms = details.duration_ms;
          if (type === "test:pass") continue; // a wrapper around a file's tests (Node 18)
          const ft = details.error && details.error.failureType;
          if (ft === "subtestsFailed") continue; // its failed tests are counted already
        }
        const info = fileInfo(file || (isFileWrapper(d) ? d.name : ""));
        if (!d.nesting) info.topLevelMs += details.duration_ms || 0;
        if (d.todo !== undefined && d.todo !== false) {
          counts.todo++;
          continue;
        }
        if (d.skip !== undefined && d.skip !== false) {
          if (typeof d.skip === "string" && FILTERED.test(d.skip)) counts.filtered++;
          else {
            counts.skipped++;
            skippedList.push({ name: d.name, file: rel(file), reason: typeof d.skip === "string" ? d.skip : "" });
          }
          continue;
        }
        info.tests++;
        if (type === "test:pass") {
          counts.passed++;
          continue;
        }
        const err = details.error;
        if (err && err.failureType === "cancelledByParent") counts.cancelled++;
        if (err && err.failureType === "subtestsFailed") continue; // counted through its subtests
        counts.failed++;
        const chain = (names[file] || []).slice(0, d.nesting || 0).filter(Boolean);
        const title = [...chain, d.name].join(" > ");
        const where = file ? `${rel(file)}${d.line ? `:${d.line}` : ""}` : "";
        let out = `\n✖ ${title}${where && !isFileWrapper(d) ? `  (${where})` : ""}\n${indent(describeError(err))}\n`;
        if (isFileWrapper(d)) {
          const tail = fileInfo(file || d.name).stderr.slice(-20);
          const how = err && err.signal ? `killed by ${err.signal}` : err && err.exitCode != null ? `exit status ${err.exitCode}` : "";
          out = `\n✖ ${rel(file || d.name)}: the test file failed outside any test${how ? ` (${how})` : ""}\n${indent(describeError(err))}\n` +
            (tail.length ? `  last lines of its stderr:\n${indent(tail.join("\n"))}\n` : "");
        }
        yield out;
      }
    } catch (e) {
      yield `(cffi test reporter: could not handle a ${type} event: ${e && e.message})\n`;
    }
  }

  const summaryPath = process.env.CFFI_TEST_SUMMARY;
  const perFile = Object.entries(files).filter(([f]) => f)
    .map(([f, v]) => ({ file: rel(f), ms: Math.round(v.duration_ms || v.topLevelMs), tests: v.tests }))
    .sort((a, b) => b.ms - a.ms);
  const summary = { ...counts, skippedList, files: perFile };
  if (summaryPath) fs.writeFileSync(summaryPath, JSON.stringify(summary, null, 1));
  else yield `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`;
}
