// "Best" only with evidence: the paired sign test behind the eval table's badge, checked against an
// independent exact binomial in Python (fractions, math.comb), and the table, chart and terminal
// text saying "tie" where the lead is within chance (the 2021 post's P@10 0.069 over 0.065).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import { renderBarChart } from "../../plugins/encoder-compare/render/bar-chart.ts";
import { formatEvalText, metricVerdicts } from "../../plugins/encoder-compare/render/eval-report.ts";
import type { EncoderEvaluation, EvalReport, QueryOutcome } from "../../plugins/encoder-compare/render/eval-report-model.ts";
import { renderEvalTable } from "../../plugins/encoder-compare/render/eval-table.ts";
import { perQueryValues, signTest } from "../../plugins/encoder-compare/render/significance.ts";
import { seededRandom } from "../support/prng.ts";
import { joinRegExp } from "../support/regexp.ts";

const PYTHON = "/usr/bin/python3";

// Written from the definition, not from the plugin: exact rational arithmetic, summing both tails.
const REFERENCE = `
import json, sys
from fractions import Fraction
from math import comb
out = []
for a, b in json.load(sys.stdin):
    wins = sum(1 for x, y in zip(a, b) if x > y)
    losses = sum(1 for x, y in zip(a, b) if x < y)
    n = wins + losses
    if n == 0:
        out.append(1.0); continue
    observed = comb(n, wins)
    # two-sided: every outcome at most as likely as the observed one
    tail = sum(comb(n, i) for i in range(n + 1) if comb(n, i) <= observed)
    out.append(float(min(Fraction(1), Fraction(tail, 2 ** n))))
print(json.dumps(out))
`;

function pythonSignTest(pairs: Array<[number[], number[]]>): number[] {
  return JSON.parse(execFileSync(PYTHON, ["-c", REFERENCE], { input: JSON.stringify(pairs), encoding: "utf8" }));
}

/** Paired per-query values where a leads b on `lead` more queries out of `n`, rest equal or lost. */
function pairs(seed: number, n: number, bias: number): [number[], number[]] {
  const random = seededRandom(seed);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    const base = Math.round(random() * 10) / 10;
    const r = random();
    a.push(base);
    b.push(r < 0.2 ? base : r < 0.6 + bias ? base - 0.1 : base + 0.1);
  }
  return [a, b];
}

describe("the exact sign test", () => {
  test("matches an independent exact binomial in Python, small to large n", () => {
    const cases: Array<[number[], number[]]> = [
      [[1, 0, 1], [0, 0, 0]],
      [[0, 0], [0, 0]],
      [[1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
      pairs(1, 15, 0),
      pairs(2, 40, 0.1),
      pairs(3, 300, 0.02),
      pairs(4, 588, 0.05),
      pairs(5, 2000, 0),
      pairs(6, 3000, 0.03),
    ];
    const expected = pythonSignTest(cases);
    cases.forEach(([a, b], i) => {
      const got = signTest(a, b).p;
      const want = expected[i];
      assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, want) + 1e-300, `case ${i}: ${got} vs Python ${want}`);
    });
  });

  test("counts wins, losses and ties; symmetric; refuses unpaired input", () => {
    const t = signTest([3, 2, 1, 5], [1, 2, 4, 0]);
    assert.deepEqual({ wins: t.wins, losses: t.losses, ties: t.ties }, { wins: 2, losses: 1, ties: 1 });
    assert.equal(signTest([1, 2, 3], [0, 5, 3]).p, signTest([0, 5, 3], [1, 2, 3]).p);
    assert.throws(() => signTest([1], [1, 2]), /as many values on each side/);
  });
});

/** A two-encoder report whose per-query outcomes are given as (firstRelevantRank, inTopK) per query. */
function report(k: number, outcomes: Record<string, Array<[number, number]>>): EvalReport {
  const encoders: EncoderEvaluation[] = Object.entries(outcomes).map(([id, list]) => {
    const queries: QueryOutcome[] = list.map(([rank, inTopK], i) => ({
      id: `q${i}`,
      group: `g${i % 7}`,
      relevant: 6,
      firstRelevantRank: rank,
      inTopK,
      averagePrecision: inTopK / 6 / rank,
    }));
    const mean = (f: (q: QueryOutcome) => number) => queries.reduce((s, q) => s + f(q), 0) / queries.length;
    return {
      encoderId: id,
      label: id === "pixels" ? "pixels (16×16 thumbnail)" : "phash (64-bit DCT hash)",
      summary: {
        queries: queries.length,
        k,
        precisionAtK: mean((q) => q.inTopK / k),
        recallAtK: mean((q) => q.inTopK / q.relevant),
        meanAveragePrecision: mean((q) => q.averagePrecision),
        hitAt1: mean((q) => (q.firstRelevantRank === 1 ? 1 : 0)),
        meanReciprocalRank: mean((q) => 1 / q.firstRelevantRank),
      },
      queries,
    };
  });
  return { dataset: { name: "emoji", images: 700, queries: encoders[0].queries.length, groups: 100, unlabelled: 0, singletons: 0 }, k, encoders };
}

/** Like the demo: P@10 0.069 against 0.065 over 200 queries, the extra hits on a handful of queries. */
function nearTie(): EvalReport {
  const a: Array<[number, number]> = [];
  const b: Array<[number, number]> = [];
  for (let i = 0; i < 200; i++) {
    const base = i < 127 ? 1 : 0;
    // 138 mates in 2000 slots against 130: pixels ahead on 11 queries, phash on 3.
    a.push([base ? 2 : 30, base + (i < 11 ? 1 : 0)]);
    b.push([base ? 2 : 30, base + (i >= 11 && i < 14 ? 1 : 0)]);
  }
  return report(10, { pixels: a, phash: b });
}

/** pixels finds the first mate at rank 1 on 150 of 200 queries, phash on 20. */
function clearLead(): EvalReport {
  const a: Array<[number, number]> = [];
  const b: Array<[number, number]> = [];
  for (let i = 0; i < 200; i++) {
    a.push([i < 150 ? 1 : 4, i < 150 ? 3 : 1]);
    b.push([i < 20 ? 1 : 9, i < 20 ? 2 : 0]);
  }
  return report(10, { pixels: a, phash: b });
}

describe("best only with evidence", () => {
  test("per-query values average to the summary the table shows", () => {
    const r = nearTie();
    for (const e of r.encoders) {
      for (const key of ["precisionAtK", "recallAtK", "meanAveragePrecision", "hitAt1", "meanReciprocalRank"] as const) {
        const values = perQueryValues(e, key, r.k);
        assert.ok(Math.abs(values.reduce((s, v) => s + v, 0) / values.length - e.summary[key]) < 1e-12, `${e.encoderId} ${key}`);
      }
    }
  });

  test("a lead of a few hundredths is a tie: no badge, the word tie, and the p-value in the table", () => {
    const r = nearTie();
    assert.equal(r.encoders[0].summary.precisionAtK.toFixed(3), "0.069");
    assert.equal(r.encoders[1].summary.precisionAtK.toFixed(3), "0.065");
    const html = renderEvalTable(r);
    const p10 = metricVerdicts(r).get("precisionAtK")!;
    assert.equal(p10.best.size, 0);
    assert.deepEqual([...p10.tied].sort(), ["phash", "pixels"]);
    const [expected] = pythonSignTest([[perQueryValues(r.encoders[0], "precisionAtK", 10), perQueryValues(r.encoders[1], "precisionAtK", 10)]]);
    assert.ok(Math.abs(p10.test!.p - expected) < 1e-12);
    assert.doesNotMatch(html, /ec-best-mark/, "no metric here is significant");
    assert.match(html, /<td class="ec-tie" data-label="P@10"><data value="0.069">0.069<\/data> <span class="ec-tie-mark">tie<\/span><\/td>/);
    assert.match(html, /<caption>.*paired sign test over the queries, p &lt; 0.05/);
    assert.match(
      html,
      joinRegExp(
        /<tfoot><tr class="ec-test-row"><th scope="row">[^<]+<\/th>/,
        /<td data-label="P@10">p = 0\.\d{3} <span class="ec-test-counts">\(11–3\)<\/span><\/td>/,
      ),
    );
    assert.match(
      html,
      joinRegExp(/P@10: a tie, pixels \(16×16 thumbnail\) ahead of phash \(64-bit DCT hash\) /, /only on 11 of the 14 queries where they differ, p = 0\.057\./),
    );
    assert.doesNotMatch(renderBarChart(r, "c"), /best/);
    assert.match(formatEvalText(r), /0\.069=/);
    assert.doesNotMatch(formatEvalText(r), /\d\*/);
  });

  test("a clear lead gets the badge, with its p-value", () => {
    const r = clearLead();
    const html = renderEvalTable(r);
    assert.equal((html.match(/<span class="ec-best-mark">best<\/span>/g) ?? []).length, 5);
    assert.doesNotMatch(html, /ec-tie-mark/);
    assert.match(html, /<td data-label="hit@1">p &lt; 0.001 <span class="ec-test-counts">\(130–0\)<\/span><\/td>/);
    assert.match(
      html,
      joinRegExp(
        /hit@1: pixels \(16×16 thumbnail\) is best, ahead of phash \(64-bit DCT hash\) /,
        /on 130 of the 130 queries where they differ, p &lt; 0\.001\./,
      ),
    );
    assert.match(formatEvalText(r), /\d\.\d{3}\*/);
  });

  test("a higher mean from a few large wins, while behind on most queries, is no lead", () => {
    const a: Array<[number, number]> = [];
    const b: Array<[number, number]> = [];
    for (let i = 0; i < 200; i++) {
      // pixels: rank 1 on 80 queries, rank 3 on 120; phash: rank 2 everywhere. MRR 0.6 against 0.5, yet 80 wins to 120 losses.
      a.push([i < 80 ? 1 : 3, 1]);
      b.push([2, 1]);
    }
    const r = report(10, { pixels: a, phash: b });
    assert.ok(r.encoders[0].summary.meanReciprocalRank > r.encoders[1].summary.meanReciprocalRank);
    const mrr = metricVerdicts(r).get("meanReciprocalRank")!;
    assert.ok(mrr.test!.p < 0.05 && mrr.test!.wins < mrr.test!.losses, "significant, but the other way");
    assert.equal(mrr.best.size, 0);
    assert.deepEqual([...mrr.tied].sort(), ["phash", "pixels"]);
    assert.match(renderEvalTable(r), /MRR: a tie, pixels \(16×16 thumbnail\) has the higher mean but is ahead of phash \(64-bit DCT hash\) on 80 of the 200/);
  });

  test("three encoders: the leader needs significance against each; the close one ties with it", () => {
    const lead = clearLead().encoders[0];
    const close = { ...lead, encoderId: "close", label: "close (twin)", queries: lead.queries.map((q, i) => (i === 0 ? { ...q, inTopK: 2 } : q)) };
    close.summary = { ...lead.summary, precisionAtK: lead.summary.precisionAtK - 0.0005, recallAtK: lead.summary.recallAtK - 1 / 1200 };
    const r: EvalReport = { ...clearLead(), encoders: [...clearLead().encoders, close] };
    const p10 = metricVerdicts(r).get("precisionAtK")!;
    assert.equal(p10.best.size, 0);
    assert.deepEqual([...p10.tied].sort(), ["close", "pixels"]);
  });
});
