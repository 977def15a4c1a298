// Copies the browser libraries the desk and the wallboard load into static/vendor/.
// Call centers often run on closed networks: nothing is fetched from a CDN at run time.
// htmx, Alpine.js and ECharts ship browser builds; JsSIP ships CommonJS only, so esbuild
// bundles it into one script exposing the global `JsSIP`.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const vendor = join(here, "..", "static", "vendor");
mkdirSync(vendor, { recursive: true });

const copies = [
  ["htmx.org/dist/htmx.min.js", "htmx.min.js"],
  ["alpinejs/dist/cdn.min.js", "alpine.min.js"],
  ["echarts/dist/echarts.min.js", "echarts.min.js"],
];
for (const [source, target] of copies) {
  copyFileSync(join(modules, source), join(vendor, target));
}

await build({
  entryPoints: [join(modules, "jssip", "lib", "JsSIP.js")],
  bundle: true,
  minify: true,
  format: "iife",
  globalName: "JsSIP",
  platform: "browser",
  target: ["chrome100", "firefox100", "safari15"],
  outfile: join(vendor, "jssip.min.js"),
  logLevel: "warning",
});

const versions = Object.fromEntries(
  ["htmx.org", "alpinejs", "echarts", "jssip"].map((name) => [
    name,
    JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")).version,
  ]),
);
console.log("static/vendor built:", JSON.stringify(versions));
