// Bundles src/ into dist/sdk.js: one minified IIFE, no runtime dependencies.
//   node build.mjs                  -> dist/sdk.js
//   node build.mjs --outfile FILE   -> FILE (the staleness test compares the two)
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const i = process.argv.indexOf("--outfile");
const outfile = i > 0 ? process.argv[i + 1] : here + "dist/sdk.js";

await build({
  entryPoints: [here + "src/index.js"],
  outfile,
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  legalComments: "none",
  logLevel: "warning",
});
