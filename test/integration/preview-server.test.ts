// The preview server of a site with the plugin: every request gets an answer, paths that climb out get 400, and it
// listens on this machine only unless previewHost says otherwise.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { outsideSecret, projectMaker } from "../support/small-project.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/preview-server");
outsideSecret(WORK);
const project = projectMaker(WORK);

/** A free TCP port on this machine. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One raw HTTP request; resolves with the status line, or "no answer" after `ms`, or the connect error's code. */
function rawRequest(host: string, port: number, target: string, ms = 15_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let data = "";
    const timer = setTimeout(() => (socket.destroy(), resolve("no answer")), ms);
    socket.on("connect", () => socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
    socket.on("data", (chunk) => (data += chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => (clearTimeout(timer), resolve(error.code ?? error.message)));
    socket.on("close", () => (clearTimeout(timer), resolve(data.split("\r\n")[0] || "closed without an answer")));
  });
}

/** A non-loopback IPv4 address of this machine, if it has one. */
function outsideAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const address of list ?? []) if (address.family === "IPv4" && !address.internal) return address.address;
  }
  return undefined;
}

/** Starts the preview server of a one-post site with the plugin; resolves once it accepts connections on loopback. */
async function startPreview(pluginOptions: Record<string, unknown>): Promise<{ port: number; stop: () => Promise<void>; log: () => string }> {
  const p = project("");
  fs.writeFileSync(path.join(p.post, "index.md"), "# Hello\n");
  fs.writeFileSync(
    path.join(p.dir, "eleventy.config.mjs"),
    `import plugin from ${JSON.stringify(path.join(ROOT, "plugins/encoder-compare/index.ts"))};\n` +
      "export default function (config) {\n" +
      "  config.setUseGitIgnore(false);\n" +
      `  config.addPlugin(plugin, ${JSON.stringify({ dataset: "dataset", cacheDir: ".cache", encoders: ["pixels"], ...pluginOptions })});\n` +
      '  return { dir: { input: "content", output: "_site" } };\n' +
      "}\n",
  );
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "test/support/preview-child.ts"), String(port)], {
    cwd: p.dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout!.on("data", (chunk) => (log += chunk));
  child.stderr!.on("data", (chunk) => (log += chunk));
  const kill = setTimeout(() => child.kill("SIGKILL"), 240_000);
  const stop = async () => {
    clearTimeout(kill);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await new Promise((resolve) => child.on("exit", resolve));
    }
  };
  const deadline = Date.now() + 120_000;
  while (!/\[preview-child\] listening/.test(log) || (await rawRequest("127.0.0.1", port, "/", 2_000)) === "ECONNREFUSED") {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`the preview server did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { port, stop, log: () => log };
}

describe("the preview server", () => {
  test("every request gets an answer: paths that climb out or do not decode get 400, the site still serves", { timeout: 300_000 }, async () => {
    const preview = await startPreview({});
    try {
      const answers: Record<string, string> = {};
      for (const target of [
        "/..%2f..%2fetc%2fhostname",
        "/posts/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/..%5c..%5cetc%5chostname",
        "/%E0%A4%A",
        "/%",
        "/a%00b",
        "http://localhost/..%2f..%2fetc%2fhostname",
      ]) {
        answers[target] = await rawRequest("127.0.0.1", preview.port, target);
      }
      for (const [target, status] of Object.entries(answers)) assert.equal(status, "HTTP/1.1 400 Bad Request", `${target}: ${status}\n${preview.log()}`);
      assert.equal(await rawRequest("127.0.0.1", preview.port, "/posts/p/"), "HTTP/1.1 200 OK");
      assert.equal(await rawRequest("127.0.0.1", preview.port, "/..%252f..%252fetc%252fhostname"), "HTTP/1.1 404 Not Found");
      assert.doesNotMatch(preview.log(), /unhandled|UnhandledPromiseRejection/i);
    } finally {
      await preview.stop();
    }
  });

  const NEEDS_OUTSIDE_ADDRESS = { timeout: 300_000, skip: !outsideAddress() && "no non-loopback address" };
  test("it listens on this machine only unless previewHost says otherwise", NEEDS_OUTSIDE_ADDRESS, async () => {
    const outside = outsideAddress()!;
    const local = await startPreview({});
    try {
      assert.equal(await rawRequest(outside, local.port, "/posts/p/"), "ECONNREFUSED");
      assert.equal(await rawRequest("127.0.0.1", local.port, "/posts/p/"), "HTTP/1.1 200 OK");
    } finally {
      await local.stop();
    }
    const shared = await startPreview({ previewHost: "0.0.0.0" });
    try {
      assert.equal(await rawRequest(outside, shared.port, "/posts/p/"), "HTTP/1.1 200 OK");
    } finally {
      await shared.stop();
    }
  });
});
