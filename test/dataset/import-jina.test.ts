// Reading and sampling memes.json (dataset/import-jina.ts); test/integration/meme-import.test.ts imports from a mirror.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkUrl } from "../../plugins/encoder-compare/base/url-policy.ts";
import { parseMemesJson, planImages, sampleMemes } from "../../plugins/encoder-compare/dataset/import-jina.ts";

describe("memes.json reading and sampling", () => {
  test("reads the documented structure and tolerates other field names", () => {
    const memes = parseMemesJson(
      [
        { name: "Doge", generated_memes: [{ image_url: "//i.imgflip.com/a1.jpg", caption_text: "such wow" }, { image_url: "//i.imgflip.com/a2.jpg" }] },
        { title: "Sparta", memes: [{ url: "https://i.imgflip.com/b1.png", caption: ["THIS", "IS SPARTA"] }, { caption: "no url" }] },
        { name: "no memes here" },
      ],
      "test",
    );
    assert.deepEqual(memes, [
      { template: "Doge", imageUrl: "//i.imgflip.com/a1.jpg", caption: "such wow", position: 0 },
      { template: "Doge", imageUrl: "//i.imgflip.com/a2.jpg", caption: undefined, position: 1 },
      { template: "Sparta", imageUrl: "https://i.imgflip.com/b1.png", caption: "THIS / IS SPARTA", position: 2 },
      { template: "Sparta", imageUrl: undefined, caption: "no url", position: 3 },
    ]);
    assert.equal(parseMemesJson({ templates: [{ template: "X", generatedMemes: [{ imageUrl: "//x/y.jpg" }] }] }, "t")[0].template, "X");
    assert.throws(() => parseMemesJson({ hello: 1 }, "memes.json from somewhere"), /memes\.json from somewhere: expected a JSON array of meme templates/);
    assert.throws(() => parseMemesJson([{ name: "a" }], "m"), /none of its 1 entries has a "generated_memes" list/);
  });

  test("sampling is CPython's shuffle then the first `limit`; ids come from file names, unique and safe", () => {
    const memes = parseMemesJson([{ name: "T", generated_memes: [...Array(20).keys()].map((i) => ({ image_url: `//h/${i}.jpg` })) }], "t");
    assert.deepEqual(
      sampleMemes(memes, 5, 42).map((m) => m.position),
      [19, 5, 14, 4, 9],
    );
    const planned = planImages(
      parseMemesJson(
        [
          {
            name: "T",
            generated_memes: [
              { image_url: "//i.imgflip.com/abc.jpg" },
              { image_url: "http://i.imgflip.com/abc.png" },
              { image_url: "/x/../we ird%20name!.gif" },
              {},
            ],
          },
        ],
        "t",
      ),
      new URL("https://mirror.example/memes.json"),
    );
    assert.deepEqual(
      planned.map((p) => [p.id, p.url?.href]),
      [
        ["abc", "https://i.imgflip.com/abc.jpg"],
        ["abc-2", "https://i.imgflip.com/abc.png"],
        ["we-ird-name", "https://mirror.example/we%20ird%20name!.gif"],
        ["meme-4", undefined],
      ],
    );
  });

  test("https only, plain http only to loopback", () => {
    for (const ok of [
      "https://example.com/m.json",
      "http://127.0.0.1:8080/m.json",
      "http://localhost/m.json",
      "http://[::1]:3000/m.json",
      "http://127.1.2.3/x",
    ]) {
      assert.doesNotThrow(() => checkUrl(new URL(ok), "memes.json URL"), ok);
    }
    for (const bad of ["http://example.com/m.json", "ftp://example.com/m.json", "file:///etc/passwd", "http://10.0.0.1/m.json"]) {
      assert.throws(() => checkUrl(new URL(bad), "memes.json URL"), /memes\.json URL .* refused: only https URLs are allowed/, bad);
    }
  });
});
