// Builds the extension bundle (dist/extension.js) or, with --tests, the test files
// (out/test/**.test.js). Usage: node esbuild.mjs [--production] [--watch] [--tests]
import * as esbuild from "esbuild";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const args = new Set(process.argv.slice(2));
const production = args.has("--production");

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : testFiles(file);
    return entry.name.endsWith(".test.ts") ? [file] : [];
  });
}

const options = args.has("--tests")
  ? {
      entryPoints: testFiles("test"),
      outdir: "out/test",
      outbase: "test",
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      packages: "external",
      sourcemap: "inline",
    }
  : {
      entryPoints: ["src/extension.ts"],
      outfile: "dist/extension.js",
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      external: ["vscode"],
      // jsonc-parser's main build is UMD, whose lazy requires esbuild cannot follow.
      alias: { "jsonc-parser": "jsonc-parser/lib/esm/main.js" },
      minify: production,
      sourcemap: production ? false : "linked",
      logLevel: "info",
    };

if (args.has("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
