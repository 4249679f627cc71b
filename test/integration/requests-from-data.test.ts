// Requests to this machine from data: a url column, a memes.json or a redirect may make the build fetch only from
// public addresses, judged on the address connected to (after DNS), unless the user configured that exact host.
// Through an Eleventy build with an embeddings dataset, the meme importer, and the one client with a name that an
// injected lookup resolves to 127.0.0.1 (no DNS is reachable offline).
import assert from "node:assert/strict";
import dns from "node:dns";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parquetWriteFile } from "hyparquet-writer";
import { main } from "../../plugins/encoder-compare/cli/main.ts";
import { readNpyHeader } from "../../plugins/encoder-compare/dataset/npy.ts";
import { isPublicAddress } from "../../plugins/encoder-compare/base/address-policy.ts";
import { getBytes } from "../../plugins/encoder-compare/base/http-client.ts";
import type { NetError } from "../../plugins/encoder-compare/base/http-errors.ts";
import { importForTest } from "../support/import-memes.ts";
import { startLoopbackServer, type LoopbackServer, type Route } from "../support/loopback-server.ts";
import { buildProject, projectMaker } from "../support/small-project.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/requests-from-data");
const EMOJI = (code: string) => path.join(ROOT, `node_modules/emoji-datasource-google/img/google/64/${code}.png`);
const PNG = fs.readFileSync(EMOJI("1f436"));
const rel = (p: string) => path.relative(ROOT, p);
const project = projectMaker(WORK);

const servers: LoopbackServer[] = [];
/** A loopback server that answers every path with the PNG (or `route`), closed after the suite. */
async function server(route?: Route): Promise<LoopbackServer> {
  const s = await startLoopbackServer({}, route ?? ((_req, res) => res.writeHead(200, { "content-type": "image/png" }).end(PNG)));
  servers.push(s);
  return s;
}
before(() => fs.rmSync(WORK, { recursive: true, force: true }));
after(async () => {
  for (const s of servers) await s.close();
  fs.rmSync(WORK, { recursive: true, force: true });
});

/** A lookup that resolves every name to `address` (a name under a public-looking domain that points here). */
function resolvesTo(address: string) {
  return ((_host: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
    const family = address.includes(":") ? 6 : 4;
    if (options?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as never;
}

/** The host name of this machine when /etc/hosts (or DNS) resolves it to loopback: a real name that points here. */
async function loopbackHostName(): Promise<string | undefined> {
  try {
    const { address } = await dns.promises.lookup(os.hostname(), { family: 4 });
    return address.startsWith("127.") ? os.hostname() : undefined;
  } catch {
    return undefined;
  }
}

describe("a dataset's url column", () => {
  let folder: string;
  let admin: LoopbackServer;
  let urls: string[];

  before(async () => {
    admin = await server();
    const port = new URL(admin.origin).port;
    const self = await loopbackHostName();
    urls = [
      `http://127.0.0.1:${port}/admin/delete?token=secret`,
      `http://localhost:${port}/admin/`,
      `http://2130706433:${port}/decimal`,
      `http://0x7f.1:${port}/hex`,
      `https://[::ffff:127.0.0.1]:${port}/mapped`,
      `https://127.1:${port}/short`,
      ...(self ? [`https://${self}:${port}/hostname`] : []),
    ];
    // An embeddings folder whose rows' images are only reachable through their url column.
    const p = project("");
    const exported = path.join(p.dir, "exported");
    let err = "";
    const args = ["export", "--encoder", "pixels", "--dataset", rel(p.dataset), "--cache-dir", rel(path.join(p.dir, ".cache")), rel(exported)];
    assert.equal(await main(args, { write: () => {} }, { write: (c: string) => (err += c) }, { ENCODER_COMPARE_OFFLINE: "1" }), 0, err);
    const { dim } = readNpyHeader(path.join(exported, "img_emb", "img_emb_0.npy"));
    folder = path.join(p.dir, "remote");
    fs.mkdirSync(path.join(folder, "img_emb"), { recursive: true });
    fs.mkdirSync(path.join(folder, "metadata"));
    const values = new Float32Array(urls.length * dim).map((_, i) => ((i * 7919) % 997) / 997);
    const { encodeNpy } = await import("../../plugins/encoder-compare/dataset/npy.ts");
    fs.writeFileSync(path.join(folder, "img_emb", "img_emb_0.npy"), encodeNpy(values, urls.length, dim));
    parquetWriteFile({
      filename: path.join(folder, "metadata", "metadata_0.parquet"),
      columnData: [
        { name: "image_path", data: urls.map((_, i) => `missing-${i}.png`), type: "STRING" },
        { name: "url", data: urls, type: "STRING" },
      ],
    });
    fs.writeFileSync(path.join(folder, "encoder-compare.json"), JSON.stringify({ encoder: "pixels" }));
  });

  test("loopback in any spelling (127.0.0.1 with a token, localhost, 2130706433, 0x7f.1, ::ffff:127.0.0.1, 127.1, this host's name): no request", async () => {
    const p = project(`<% encoderCompare "query.png", k=${urls.length}, dataset="remote" %>`);
    const { pages } = await buildProject(p.dir, { datasets: { remote: { embeddings: rel(folder), verifySample: 0 } } });
    assert.match(pages[0].content, new RegExp(`<table`));
    assert.deepEqual(admin.requests, []);
    assert.equal(admin.connections, 0);
  });

  test("the user configured that exact host (an images template): its images are fetched; other loopback hosts still are not", async () => {
    const configured = await server();
    const p = project(`<% encoderCompare "query.png", k=${urls.length}, dataset="remote" %>`);
    const options = { datasets: { remote: { embeddings: rel(folder), verifySample: 0, images: `${configured.origin}/img/{image_path}` } } };
    await buildProject(p.dir, options);
    assert.equal(configured.requests.filter((r) => r.startsWith("/img/missing-")).length, urls.length);
    assert.deepEqual(admin.requests, []);
  });

  test("a configured host that redirects to another port on this machine, or to localhost by name: not followed", async () => {
    const port = new URL(admin.origin).port;
    const targets = [`http://127.0.0.1:${port}/admin/redirected`, `http://localhost:${port}/admin/by-name`, `http://[::1]:${port}/admin/v6`];
    const redirecting = await server((req, res) => {
      const n = Number(/missing-(\d+)/.exec(req.url ?? "")?.[1] ?? 0);
      res.writeHead(302, { location: targets[n % targets.length] }).end();
    });
    const p = project(`<% encoderCompare "query.png", k=${urls.length}, dataset="remote" %>`);
    const options = { datasets: { remote: { embeddings: rel(folder), verifySample: 0, images: `${redirecting.origin}/img/{image_path}` } } };
    await buildProject(p.dir, options);
    assert.ok(redirecting.requests.length >= 3, String(redirecting.requests.length));
    assert.deepEqual(admin.requests, []);
  });
});

describe("the one client judges the address it connects to", () => {
  test("a public-looking name that resolves to 127.0.0.1, ::1, 10.0.0.1 or ::ffff:169.254.169.254: refused before connecting", async () => {
    const s = await server();
    const port = new URL(s.origin).port;
    for (const address of ["127.0.0.1", "::1", "10.0.0.1", "::ffff:169.254.169.254", "0.0.0.0"]) {
      await assert.rejects(
        getBytes({ url: new URL(`https://images.example:${port}/x.png`), what: "dataset image", maxBytes: 1e6, fromData: true, lookup: resolvesTo(address) }),
        (error: NetError) => {
          assert.equal(error.kind, "refused");
          assert.match(error.message, new RegExp(`images\\.example resolves to ${address.replace(/\./g, "\\.")}, which is not a public address`));
          return true;
        },
      );
    }
    assert.equal(s.connections, 0);
  });

  test("a redirect from a configured loopback host to a name that resolves here is refused; to the same host it is followed", async () => {
    const target = await server();
    const port = new URL(target.origin).port;
    const hop = await server((req, res) => {
      if (req.url === "/same") return void res.writeHead(302, { location: "/final" }).end();
      if (req.url === "/final") return void res.writeHead(200).end("ok");
      res.writeHead(302, { location: `https://rebind.example:${port}/admin` }).end();
    });
    const lookup = resolvesTo("127.0.0.1");
    await assert.rejects(
      getBytes({ url: new URL(`${hop.origin}/away`), what: "model file", maxBytes: 1e6, lookup }),
      /redirect from http:\/\/127\.0\.0\.1:\d+\/away to https:\/\/rebind\.example:\d+\/admin refused: rebind\.example resolves to 127\.0\.0\.1/,
    );
    assert.equal(target.connections, 0);
    assert.equal(String(await getBytes({ url: new URL(`${hop.origin}/same`), what: "model file", maxBytes: 1e6, lookup })), "ok");
  });

  test("a configured host may be anything; data may not name it unless it is the configured one", async () => {
    const s = await server((_req, res) => res.writeHead(200).end("here"));
    const url = new URL(`${s.origin}/x`);
    assert.equal(String(await getBytes({ url, what: "model file", maxBytes: 100 })), "here");
    assert.equal(String(await getBytes({ url, what: "image", maxBytes: 100, fromData: true, configuredHosts: [url.host] })), "here");
    await assert.rejects(getBytes({ url, what: "image", maxBytes: 100, fromData: true }), /127\.0\.0\.1 is not a public address/);
    const other = new URL(`http://localhost:${url.port}/x`);
    await assert.rejects(getBytes({ url: other, what: "image", maxBytes: 100, fromData: true, configuredHosts: [url.host] }), /not a public address/);
    assert.equal(s.requests.length, 2);
  });

  test("which addresses are public", () => {
    const notPublic = ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1", "224.0.0.1", "255.255.255.255",
      "::", "::1", "fe80::1", "fd00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "[::1]"];
    for (const address of notPublic) assert.equal(isPublicAddress(address), false, address);
    const publicOnes = ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "172.32.0.1"];
    for (const address of publicOnes) assert.equal(isPublicAddress(address), true, address);
  });
});

describe("the meme importer", () => {
  test("memes.json naming images on another loopback port or as localhost: those fail, images on its own host are fetched", async () => {
    const admin = await server();
    const mirror = await server((req, res) => {
      if (req.url === "/memes.json") {
        const memes = [
          { image_url: `${mirror.origin}/img/own.png`, caption_text: "own host" },
          { image_url: `${admin.origin}/admin/other-port.png`, caption_text: "another port" },
          { image_url: `http://localhost:${new URL(mirror.origin).port}/img/by-name.png`, caption_text: "localhost" },
        ];
        return void res.writeHead(200).end(JSON.stringify([{ name: "Doge", generated_memes: memes }]));
      }
      res.writeHead(200, { "content-type": "image/png" }).end(PNG);
    });
    const outDir = path.join(WORK, "import");
    const { result } = await importForTest(outDir, `${mirror.origin}/memes.json`);
    assert.equal(result.downloaded, 1);
    assert.deepEqual(result.failed.map((f) => f.reason.replace(/:\d+/g, ":PORT")).sort(), [
      "image URL http://127.0.0.1:PORT/admin/other-port.png refused: 127.0.0.1 is not a public address; only public addresses are fetched " +
        "for data and redirects (configure this exact host to allow it)",
      "image URL http://localhost:PORT/img/by-name.png refused: localhost resolves to 127.0.0.1, which is not a public address; only public " +
        "addresses are fetched for data and redirects (configure this exact host to allow it)",
    ]);
    assert.deepEqual(admin.requests, []);
  });
});
