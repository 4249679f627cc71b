// manifest.csv beside manifest.json: the RFC 4180 reader, the header rules, and a CSV dataset
// loaded end to end (duplicates by content still indexed once and reported).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { loadDataset } from "../../plugins/encoder-compare/dataset/load.ts";
import { parseCsv } from "../../plugins/encoder-compare/dataset/manifest.ts";

const ROOT = process.cwd();
const EMOJI = (code: string) => path.join(ROOT, `node_modules/emoji-datasource-google/img/google/64/${code}.png`);

describe("parseCsv", () => {
  test("plain fields, CRLF and LF, no empty record for a final line break", () => {
    assert.deepEqual(parseCsv("a,b,c\r\n1,2,3\n4,,6\n"), [
      { fields: ["a", "b", "c"], line: 1 },
      { fields: ["1", "2", "3"], line: 2 },
      { fields: ["4", "", "6"], line: 3 },
    ]);
    assert.deepEqual(parseCsv(""), []);
    assert.deepEqual(parseCsv("x"), [{ fields: ["x"], line: 1 }]);
    assert.deepEqual(parseCsv("a,\n"), [{ fields: ["a", ""], line: 1 }]);
  });

  test("quoted fields hold commas, doubled quotes and line breaks; line numbers follow", () => {
    const text = '\ufeffid,caption\n1,"Say ""hi"", then go"\n2,"two\r\nlines"\n3,""\n';
    assert.deepEqual(parseCsv(text), [
      { fields: ["id", "caption"], line: 1 },
      { fields: ["1", 'Say "hi", then go'], line: 2 },
      { fields: ["2", "two\r\nlines"], line: 3 },
      { fields: ["3", ""], line: 5 },
    ]);
  });

  test("malformed quoting is an error naming the line", () => {
    assert.throws(() => parseCsv('a,b\n1,"open\n2,3\n'), /line 2: a quoted field is never closed/);
    assert.throws(() => parseCsv('a,b\n1,"x"y\n'), /line 2: unexpected "y" after a closing quote/);
    assert.throws(() => parseCsv('a,b\n1,x"y\n'), /line 2: a field that contains a quote must itself be quoted/);
  });
});

describe("a dataset with manifest.csv", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-csv-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function dataset(name: string, csv: string, files: Record<string, string> = {}): string {
    const folder = path.join(dir, name);
    fs.mkdirSync(path.join(folder, "img"), { recursive: true });
    for (const [file, code] of Object.entries(files)) fs.copyFileSync(EMOJI(code), path.join(folder, file));
    fs.writeFileSync(path.join(folder, "manifest.csv"), csv);
    return folder;
  }

  test("loads ids, captions with commas/quotes/newlines and groups; columns in any order; extra columns ignored", () => {
    const folder = dataset(
      "ok",
      'group,file,id,caption,notes\r\ndog,img/dog.png,dog-1,"Dog, ""good"" boy",x\r\ndog,img/dog2.png,dog-2,"two\nlines",\r\n' +
        ",img/cat.png,cat,,y\r\ncat,img/cat-copy.png,cat-copy,copy,\r\n",
      { "img/dog.png": "1f436", "img/dog2.png": "1f415", "img/cat.png": "1f431", "img/cat-copy.png": "1f431" },
    );
    const loaded = loadDataset(folder);
    assert.equal(loaded.name, "ok");
    assert.deepEqual(
      loaded.images.map((i) => [i.id, i.caption, i.group ?? null, i.relativeFile]),
      [
        ["cat", "cat.png", null, "img/cat.png"],
        ["dog-1", 'Dog, "good" boy', "dog", "img/dog.png"],
        ["dog-2", "two\nlines", "dog", "img/dog2.png"],
      ],
    );
    // Byte-identical files: the first (by id) is indexed, the other reported.
    assert.deepEqual(loaded.skipped, [{ file: "img/cat-copy.png", reason: 'same content as "cat"' }]);
  });

  test("only a file column is required; id defaults to the file", () => {
    const folder = dataset("minimal", "file\nimg/a.png\n\n", { "img/a.png": "1f34e" });
    assert.deepEqual(loadDataset(folder).images.map((i) => [i.id, i.caption]), [["img/a.png", "a.png"]]);
  });

  test("errors name the manifest, the row and what was expected", () => {
    const noFile = dataset("no-file-column", "id,caption\na,b\n");
    assert.throws(() => loadDataset(noFile), /manifest\.csv: the first row must name the columns, including "file"/);
    const ragged = dataset("ragged", "id,file,caption\na,img/a.png,Apple, red\n");
    assert.throws(() => loadDataset(ragged), /manifest\.csv: row 2 \(line 2\) has 4 fields but the header has 3; quote fields that contain commas/);
    const outside = dataset("outside", 'id,file\na,"../x.png"\n');
    assert.throws(() => loadDataset(outside), /row 2 \(line 2\) file "\.\.\/x\.png" points outside the dataset folder/);
    const emptyFile = dataset("empty-file", "id,file\na,\n");
    assert.throws(() => loadDataset(emptyFile), /row 2 \(line 2\) has no "file"/);
    const broken = dataset("broken", 'id,file\na,"img/a.png\n');
    assert.throws(
      () => loadDataset(broken),
      (error: Error) => /manifest\.csv is not valid CSV: line 2: a quoted field is never closed/.test(error.message) && error.cause instanceof Error,
    );
  });

  test("manifest.json and manifest.csv together are refused", () => {
    const both = dataset("both", "file\nimg/a.png\n", { "img/a.png": "1f34e" });
    fs.writeFileSync(path.join(both, "manifest.json"), JSON.stringify({ images: [{ file: "img/a.png" }] }));
    assert.throws(() => loadDataset(both), /has both manifest\.json and manifest\.csv; keep one/);
  });

  test("manifest.json still works and its errors name the entry", () => {
    const folder = path.join(dir, "json");
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, "manifest.json"), JSON.stringify({ name: "j", images: [{ id: "x" }] }));
    assert.throws(() => loadDataset(folder), /manifest\.json: images\[0\] has no "file"/);
  });
});
