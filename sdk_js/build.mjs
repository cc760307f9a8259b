// Bundles the browser code into dist/, committed so that the server needs no Node:
//   src/index.js        -> dist/sdk.js          the snippet: one minified IIFE, no dependencies
//   src/module.js       -> dist/gigmetrics.mjs  the same as an ES module with init(), for the
//                                               npm package (+ its types, gigmetrics.d.ts)
//   dashboard/index.js  -> dist/dashboard.js    GET /dashboard (+ dashboard.css, with uPlot's)
//   graphiql/index.js   -> dist/graphiql.js     GET /graphql in a browser (+ graphiql.css)
//   node build.mjs                  -> all of them into dist/
//   node build.mjs --outdir DIR     -> into DIR (the staleness test compares the two)
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const i = process.argv.indexOf("--outdir");
const outdir = (i > 0 ? process.argv[i + 1] : here + "dist").replace(/\/$/, "") + "/";

const common = {
  bundle: true,
  minify: true,
  format: "iife",
  legalComments: "none",
  logLevel: "warning",
};

await mkdir(outdir, { recursive: true });
await Promise.all([
  build({ ...common, entryPoints: [here + "src/index.js"], outfile: outdir + "sdk.js",
          target: "es2020" }),
  build({ ...common, entryPoints: [here + "src/module.js"], outfile: outdir + "gigmetrics.mjs",
          format: "esm", target: "es2020" }),
  copyFile(here + "src/gigmetrics.d.ts", outdir + "gigmetrics.d.ts"),
  build({ ...common, entryPoints: [here + "dashboard/index.js"],
          outfile: outdir + "dashboard.js", target: "es2020" }),
  build({ ...common, entryPoints: [here + "graphiql/index.js"], outfile: outdir + "graphiql.js",
          target: "es2020", define: { "process.env.NODE_ENV": '"production"' } }),
  copyFile(here + "dashboard/index.html", outdir + "dashboard.html"),
  copyFile(here + "graphiql/index.html", outdir + "graphiql.html"),
]);
