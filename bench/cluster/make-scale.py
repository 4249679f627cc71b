# Synthetic clip-retrieval output for the scale bench: N unit vectors (a mixture of Gaussian
# clusters, like real image embeddings, not uniform noise) as float16 .npy shards, an IVF-PQ
# index built the way autofaiss builds one (index_factory with inner product, train on a sample,
# add, search parameters set through ParameterSpace and saved in the file), and exact top-10
# ground truth for held-out queries. Run by bench/cluster.bench.ts with /usr/bin/python3.
import json, math, os, sys, time
import numpy as np
import faiss

out = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
dim, shard_rows, queries, k = 512, 100_000, 200, 10
# "np" skips polysemous training (tens of minutes for M=64; it only serves Hamming pre-filtering).
# IVF256 rather than autofaiss's ~4·sqrt(N) lists: on this 2-core machine (no AVX2 BLAS) IVF1024
# did not finish training in 40 minutes; 256 lists at nprobe 8 scan as many codes per query.
key, nprobe = os.environ.get("SCALE_INDEX_KEY", "IVF256,PQ64x8np"), int(os.environ.get("SCALE_NPROBE", "8"))
rng = np.random.default_rng(20210)
centers = rng.standard_normal((2000, dim)).astype(np.float32)

def sample(n):
    x = centers[rng.integers(0, len(centers), n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

shards = math.ceil(rows / shard_rows)
width = int(math.log10(shards)) + 1
os.makedirs(f"{out}/img_emb", exist_ok=True)
started = time.time()
# Seeded: shards and queries left by an interrupted run are the same bytes, so they are kept.
if not os.path.exists(f"{out}/queries.npy"):
    for s in range(shards):
        n = min(shard_rows, rows - s * shard_rows)
        np.save(f"{out}/img_emb/img_emb_{str(s).zfill(width)}.npy", sample(n).astype(np.float16))
    np.save(f"{out}/queries.npy", sample(queries))
q = np.load(f"{out}/queries.npy")

index = faiss.index_factory(dim, key, faiss.METRIC_INNER_PRODUCT)
faiss.extract_index_ivf(index).cp.niter = 10
train = np.concatenate([np.load(f"{out}/img_emb/img_emb_{str(s).zfill(width)}.npy")[:5_000].astype(np.float32) for s in range(shards)])[:50_000]
index.train(train)
best = [(np.full((queries, k), -np.inf, np.float32), np.zeros((queries, k), np.int64))]
offset = 0
for s in range(shards):
    x = np.load(f"{out}/img_emb/img_emb_{str(s).zfill(width)}.npy").astype(np.float32)
    index.add(x)
    scores = q @ x.T
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    d, i = best[0]
    d = np.concatenate([d, np.take_along_axis(scores, top, 1)], 1)
    i = np.concatenate([i, top + offset], 1)
    order = np.argsort(-d, axis=1, kind="stable")[:, :k]
    best[0] = (np.take_along_axis(d, order, 1), np.take_along_axis(i, order, 1))
    offset += len(x)
faiss.ParameterSpace().set_index_parameter(index, "nprobe", nprobe)
faiss.write_index(index, f"{out}/image.index")
np.save(f"{out}/ground_truth.npy", best[0][1])
json.dump({"rows": rows, "dim": dim, "key": key, "nprobe": nprobe, "seconds": round(time.time() - started, 1)}, open(f"{out}/made.json", "w"))
