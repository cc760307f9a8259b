// The npm package: what `npm pack` puts in it, what its exports point at, and that the module
// build can be imported where there is no page (a bundler's server render, a test runner).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(here + "package.json", "utf8"));

test("the package is publishable and holds the two builds and their types", () => {
  assert.equal(pkg.private, undefined);
  const [packed] = JSON.parse(
    execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      cwd: here, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"],
    })
  );
  const files = packed.files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    "README.md", "dist/gigmetrics.d.ts", "dist/gigmetrics.mjs", "dist/sdk.js", "package.json",
  ]);
});

test("exports: the module build with its types, and the script-tag build", () => {
  assert.deepEqual(pkg.exports["."], { types: "./dist/gigmetrics.d.ts", default: "./dist/gigmetrics.mjs" });
  assert.equal(pkg.exports["./sdk.js"], "./dist/sdk.js");
  for (const path of [pkg.module, pkg.types, ...Object.values(pkg.exports).flatMap((v) => (typeof v == "string" ? [v] : Object.values(v)))])
    assert.ok(readFileSync(here + path).length > 0, path);
});

test("the types declare what the module exports", async () => {
  const module = await import("../dist/gigmetrics.mjs");
  const types = readFileSync(here + "dist/gigmetrics.d.ts", "utf8");
  assert.deepEqual(Object.keys(module).sort(), ["flush", "init", "scan", "skipped"]);
  for (const name of ["init", "flush", "scan"]) assert.match(types, new RegExp(`export function ${name}\\(`));
  assert.match(types, /export const skipped:/);
  assert.match(types, /endpoint: string \| URL;/);
  assert.match(types, /respectGpc\?: boolean;/);
});

test("without a page, importing the module and calling init() do nothing", async () => {
  const { init, flush, scan, skipped } = await import("../dist/gigmetrics.mjs");
  init({ endpoint: "https://metrics.example.com" });
  flush();
  scan();
  assert.deepEqual({ ...skipped }, {});
  assert.equal(globalThis.gigmetrics, undefined);
});
