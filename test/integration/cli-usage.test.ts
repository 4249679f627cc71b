// The command line's grammar, in real processes as a newcomer types it: --help on every command and
// command group, typos answered with "did you mean", short options understood or refused by name
// (never taken for a path), "--" before a path that starts with "-", and a --k over the limit saying
// how to raise it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { COMMANDS } from "../../plugins/encoder-compare/cli/main.ts";
import { ensurePackageBuilt } from "../support/package-build.ts";

const BIN = path.join(process.cwd(), "plugins/encoder-compare/bin.js");
const EMOJI = path.join(process.cwd(), "node_modules/emoji-datasource-google/img/google/64");

let work = "";

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: "utf8", env: { ...process.env, ENCODER_COMPARE_OFFLINE: "1" } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A usage error: exit 2, nothing on stdout, the message and a pointer to the right --help on stderr. */
function assertUsage(run: ReturnType<typeof cli>, message: string, topic: string) {
  assert.equal(run.status, 2, run.stderr);
  assert.equal(run.stdout, "");
  assert.equal(run.stderr, `encoder-compare: ${message}\nRun "encoder-compare ${topic}--help" for usage.\n`);
}

before(() => {
  ensurePackageBuilt();
  work = fs.mkdtempSync(path.join(os.tmpdir(), "ec-cli-usage-"));
  fs.mkdirSync(path.join(work, "data"));
  for (const name of ["1f436.png", "1f437.png", "1f438.png", "1f439.png", "1f43a.png"]) fs.copyFileSync(path.join(EMOJI, name), path.join(work, "data", name));
  fs.copyFileSync(path.join(EMOJI, "1f436.png"), path.join(work, "-dash.png"));
  fs.writeFileSync(path.join(work, "raise.mjs"), "export default { maxK: 80 };\n");
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** What `query` accepts, as its unknown-option errors list it. */
const QUERY_OPTIONS = "--json, --include-self, --dataset (-d), --encoders (-e), --config, --cache-dir, --k (-k), --html";
const INDEX_OPTIONS = "--dataset (-d), --encoders (-e), --config, --cache-dir";

const SITE = ["--dataset", "data", "--cache-dir", ".cache/ec", "--encoders", "pixels"];

describe("--help", () => {
  test("every command and every command group answers --help and -h with exit 0", () => {
    const groups = [...new Set(COMMANDS.filter((c) => c.name.includes(" ")).map((c) => c.name.split(" ")[0]))];
    assert.deepEqual(groups.sort(), ["cache", "dataset", "models"]);
    for (const group of groups) {
      for (const flag of ["--help", "-h"]) {
        const run = cli(group, flag);
        assert.equal(run.status, 0, `${group} ${flag}: ${run.stderr}`);
        assert.match(run.stdout, new RegExp(`^Usage: encoder-compare ${group} <`));
        for (const member of COMMANDS.filter((c) => c.name.startsWith(`${group} `))) assert.ok(run.stdout.includes(`  ${member.name}  `), run.stdout);
      }
      // The group alone is a usage mistake, answered with the same list.
      const bare = cli(group);
      assert.equal(bare.status, 2);
      assert.match(bare.stdout, new RegExp(`^Usage: encoder-compare ${group} <`));
    }
    for (const [i, command] of COMMANDS.entries()) {
      const words = command.name.split(" ");
      for (const asked of [[...words, "--help"], i % 2 ? [...words, "-h"] : ["help", ...words]]) {
        const run = cli(...asked);
        assert.equal(run.status, 0, `${asked.join(" ")}: ${run.stderr}`);
        assert.ok(run.stdout.startsWith(command.help), `${asked.join(" ")}: ${run.stdout.slice(0, 200)}`);
      }
    }
    assert.equal(cli("help").status, 0);
    assert.match(cli("help").stdout, /^Usage: encoder-compare <command> \[options\]/);
  });

  test("query --help states the --k limit and how to raise it", () => {
    const help = cli("query", "--help").stdout;
    assert.match(help, /--k, -k <n> +results per encoder \(default 3\); at most the plugin's maxK option \(default 50\),\n/);
    assert.match(help, /\n +which the site's plugin options or a --config module can raise\n/);
  });
});

describe("typos", () => {
  test("an unknown command is named alone and the nearest command suggested", () => {
    assertUsage(cli("qurey", "x.png"), 'unknown command "qurey"; did you mean "query"?', "");
    assertUsage(cli("quer", "x.png"), 'unknown command "quer"; did you mean "query"?', "");
    assertUsage(cli("idnex"), 'unknown command "idnex"; did you mean "index"?', "");
    assertUsage(cli("evl", "--k", "3"), 'unknown command "evl"; did you mean "eval"?', "");
    assertUsage(cli("exprot", "out"), 'unknown command "exprot"; did you mean "export"?', "");
    assertUsage(cli("modles", "list"), 'unknown command "modles"; did you mean "models"?', "");
    assertUsage(cli("cahce", "stats"), 'unknown command "cahce"; did you mean "cache"?', "");
    assertUsage(cli("datset", "import"), 'unknown command "datset"; did you mean "dataset"?', "");
    // Nothing near: no guess, and never the argument glued to the name.
    assertUsage(cli("frobnicate", "x.png"), 'unknown command "frobnicate"', "");
  });

  test("an unknown subcommand of a group suggests the group's nearest, or lists them", () => {
    assertUsage(cli("models", "lst"), 'unknown command "models lst"; did you mean "models list"?', "models ");
    assertUsage(cli("models", "verfiy"), 'unknown command "models verfiy"; did you mean "models verify"?', "models ");
    assertUsage(cli("cache", "clean"), 'unknown command "cache clean"; did you mean "cache clear"?', "cache ");
    assertUsage(cli("dataset", "imprt", "jina-memes"), 'unknown command "dataset imprt"; did you mean "dataset import"?', "dataset ");
    assertUsage(cli("cache", "zap"), 'unknown command "cache zap"; cache commands: cache stats, cache clear', "cache ");
    assertUsage(cli("models", "--json"), '"models" needs a command first; models commands: models list, models pull, models verify', "models ");
  });

  test("an option before the command is refused by name", () => {
    assertUsage(cli("--k", "5", "query"), "unknown option --k before the command; options go after it", "");
    assertUsage(cli("-v"), "unknown option -v before the command; options go after it", "");
  });

  test("an unknown option is named, with the nearest known one when there is one, on every command", () => {
    assertUsage(
      cli("query", "--encoder", "pixels", "x.png"),
      `unknown option --encoder (did you mean --encoders?); allowed: ${QUERY_OPTIONS}`,
      "query ",
    );
    assertUsage(cli("index", "--datset", "d"), `unknown option --datset (did you mean --dataset?); allowed: ${INDEX_OPTIONS}`, "index ");
    assertUsage(cli("cache", "stats", "-json"), "unknown option -json (did you mean --json?); allowed: --json, --config, --cache-dir", "cache stats ");
    const pull = cli("models", "pull", "pixels", "--update-lok");
    assertUsage(pull, "unknown option --update-lok (did you mean --update-lock?); allowed: --update-lock, --offline", "models pull ");
    assertUsage(cli("models", "verify", "--all"), "unknown option --all; allowed: none", "models verify ");
    for (const command of COMMANDS) {
      const run = cli(...command.name.split(" "), "--no-such-option");
      assert.equal(run.status, 2, `${command.name}: ${run.stderr}`);
      assert.match(run.stderr, /^encoder-compare: unknown option --no-such-option; allowed: /, command.name);
    }
  });
});

describe("short options", () => {
  test("-k, -e and -d mean --k, --encoders and --dataset, in every spelling", () => {
    const long = cli("query", "data/1f436.png", "--dataset", "data", "--cache-dir", ".cache/ec", "--encoders", "pixels", "--k", "2");
    assert.equal(long.status, 0, long.stderr);
    assert.equal(long.stdout.split("\n").filter((line) => /^ \d\. /.test(line)).length, 2, long.stdout);
    for (const spelling of [["-k", "2"], ["-k2"], ["-k=2"], ["--k=2"]]) {
      const run = cli("query", ...spelling, "data/1f436.png", "-d", "data", "--cache-dir", ".cache/ec", "-e", "pixels");
      assert.equal(run.status, 0, `${spelling.join(" ")}: ${run.stderr}`);
      assert.equal(run.stdout, long.stdout, spelling.join(" "));
    }
  });

  test("a short option a command does not take, or an unknown one, is refused by name and never read as a path", () => {
    assertUsage(cli("index", "-k", "3"), `unknown option -k; allowed: ${INDEX_OPTIONS}`, "index ");
    assertUsage(cli("query", "-x", "data/1f436.png"), `unknown option -x; allowed: ${QUERY_OPTIONS}`, "query ");
    assertUsage(cli("query", "-n", "5", "data/1f436.png"), `unknown option -n; allowed: ${QUERY_OPTIONS}`, "query ");
    assertUsage(cli("models", "list", "-j"), "unknown option -j; allowed: --json", "models list ");
    assertUsage(cli("query", "data/1f436.png", "-k"), "-k needs a value", "query ");
    assertUsage(cli("query", "data/1f436.png", "-k", "-e", "pixels"), "-k needs a value", "query ");
    assertUsage(cli("cache", "stats", "--json=yes"), '--json takes no value, got "yes"', "cache stats ");
  });

  test('after "--" an argument that starts with "-" is a path', () => {
    const run = cli("query", ...SITE, "--k", "1", "--", "-dash.png");
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^query: -dash\.png\n/);
    assertUsage(cli("query", ...SITE, "--", "-k"), `query image ${path.join(fs.realpathSync(work), "-k")} does not exist`, "query ");
  });
});

describe("--k over the limit", () => {
  test("the error names the limit and how to raise it; a raised maxK is honoured", () => {
    for (const k of ["51", "200", "1000"]) {
      assertUsage(
        cli("query", ...SITE, "--k", k, "data/1f436.png"),
        "--k must be at most 50 (the plugin's maxK option); to raise it, set maxK in the site's plugin options " +
          `or pass --config <module> whose default export is e.g. { maxK: ${Math.max(Number(k), 100)} }`,
        "query ",
      );
    }
    const raised = cli("query", ...SITE, "--config", "raise.mjs", "-k", "60", "data/1f436.png");
    assert.equal(raised.status, 0, raised.stderr);
    assert.match(raised.stderr, /^$/);
    assert.match(cli("query", ...SITE, "--config", "raise.mjs", "-k", "81", "data/1f436.png").stderr, /--k must be at most 80 \(the plugin's maxK option\)/);
  });
});

describe("a site whose dataset is not made yet", () => {
  test("naming the site's own dataset on the command line still points at `npm run dataset`; another folder at the importer", () => {
    const site = path.join(work, "site");
    fs.mkdirSync(site);
    fs.writeFileSync(path.join(site, "package.json"), JSON.stringify({ scripts: { dataset: "node make.js" } }));
    // A site's JavaScript config imports the compiled package, as an adopter's does.
    const plugin = pathToFileURL(path.join(process.cwd(), "plugins/encoder-compare/dist/index.js")).href;
    fs.writeFileSync(
      path.join(site, "eleventy.config.mjs"),
      `import plugin from ${JSON.stringify(plugin)};\nexport default (config) => config.addPlugin(plugin, { dataset: "data/own" });\n`,
    );
    const inSite = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, ...args], { cwd: site, encoding: "utf8", env: { ...process.env, ENCODER_COMPARE_OFFLINE: "1" } });
    for (const spelling of [[], ["--dataset", "data/own"], ["-d", "./data/../data/own"], ["--dataset", path.join(site, "data/own")]]) {
      const run = inSite("index", ...spelling);
      assert.equal(run.status, 1, run.stderr);
      assert.equal(run.stderr, 'encoder-compare: dataset folder "data/own" does not exist; make it with `npm run dataset`\n', spelling.join(" "));
    }
    assert.equal(
      inSite("index", "-d", "other").stderr,
      'encoder-compare: dataset folder "other" does not exist; put images in it, ' +
        "or make one with `npx encoder-compare dataset import jina-memes --out other`\n",
    );
  });
});
