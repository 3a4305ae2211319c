// Reads the conformance suite's checks.json files and holds them to .ci/conformance-baseline.json:
// the suite's exit code alone would accept vacuous passes and new, unexamined scenarios.
// Usage: node .ci/conformance-check.mjs <baseline.json> <results-dir>
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const [baselinePath, resultsDir] = process.argv.slice(2);
const baseline = JSON.parse(readFileSync(baselinePath, "utf8"));
const expectedFailures = new Set(baseline.server);
const problems = [];

/** scenario name → its checks (the directory is server-<scenario>-<timestamp>). */
const results = new Map();
for (const dir of readdirSync(resultsDir)) {
  const match = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(dir);
  if (!match) continue;
  results.set(match[1], JSON.parse(readFileSync(path.join(resultsDir, dir, "checks.json"), "utf8")));
}

const valueAt = (object, dotted) => dotted.split(".").reduce((v, key) => (v == null ? undefined : v[key]), object);

function meets(actual, expected) {
  if (expected !== null && typeof expected === "object" && !Array.isArray(expected)) {
    if ("min" in expected) return typeof actual === "number" && actual >= expected.min;
    if ("includes" in expected) return Array.isArray(actual) && expected.includes.every((v) => actual.includes(v));
  }
  return actual === expected;
}

/** Every named check present and SUCCESS, with details as expected; no check of the scenario failed. */
function verify(scenario, checkExpectations, label) {
  const checks = results.get(scenario);
  if (!checks) return problems.push(`${scenario}: did not run (${label})`);
  for (const check of checks) {
    if (check.status !== "SUCCESS" && check.status !== "INFO") problems.push(`${scenario}/${check.id}: ${check.status} ${check.errorMessage ?? ""}`);
  }
  for (const [id, expectations] of Object.entries(checkExpectations)) {
    const check = checks.find((c) => c.id === id);
    if (!check) {
      problems.push(`${scenario}: check ${id} missing (${label})`);
      continue;
    }
    for (const [key, expected] of Object.entries(expectations)) {
      const actual = valueAt(check.details, key);
      if (!meets(actual, expected)) {
        problems.push(`${scenario}/${id}: details.${key} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)} (${label})`);
      }
    }
  }
}

for (const [scenario, expectations] of Object.entries(baseline.must_pass)) verify(scenario, expectations, "must pass");
for (const [scenario, entry] of Object.entries(baseline.vacuous)) verify(scenario, entry.checks, `vacuous: ${entry.reason}`);
for (const scenario of results.keys()) {
  if (!expectedFailures.has(scenario) && !(scenario in baseline.must_pass) && !(scenario in baseline.vacuous)) {
    problems.push(`${scenario}: not in the baseline; read its checks.json and classify it in .ci/conformance-baseline.json`);
  }
}

const passed = Object.keys(baseline.must_pass).filter((s) => results.has(s));
const checkCount = passed.reduce((n, s) => n + results.get(s).length, 0);
console.log(
  `conformance: ${passed.length} scenarios passed for real (${checkCount} checks), ${Object.keys(baseline.vacuous).length} vacuous, ${expectedFailures.size} expected failures (fixture server needed), ${results.size} run`,
);
if (problems.length > 0) {
  console.error(`conformance: ${problems.length} problem(s):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
