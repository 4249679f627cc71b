// The one source of every plugin default, grouped by concern. It stands on the bottom floor and imports nothing, so
// every stage reads its own defaults here without importing the engine; engine/options.ts validates user options
// against it and hands the resolved values down. The groups marked "Not options" are fixed bounds and tunings: they are
// not in OPTION_GROUPS, so a config that names them is refused; the README lists them under "Built-in limits".

/** Object.freeze without its literal typing: a default of 16 is a number, not the type 16. */
const frozen = <T>(object: T): Readonly<T> => Object.freeze(object);

export const DEFAULTS = frozen({
  /** Encoders a shortcode shows when it names none, in table order. */
  encoders: ["pixels", "phash"] as readonly string[],
  /** Folder of dataset images, relative to the project root. Sites name their own (the demo's is set in .eleventy.ts). */
  dataset: "content/datasets",
  /** Named datasets a shortcode picks with dataset="name": none. */
  datasets: {} as Readonly<Record<string, never>>,
  /** Results per query. */
  k: 3,
  /** Largest k a shortcode may ask for. */
  maxK: 50,
  /** Leave the query's own file out of its results (and say so). */
  includeSelf: false,
  /** No "Try your own image" control unless asked for. */
  tryIt: false,
  /** Encoder ids whose downloaded model the "Try your own image" widget may offer: none. */
  tryItModels: [] as readonly string[],
  /** Embedding store and other build caches, relative to the project root. */
  cacheDir: ".cache/encoder-compare",
  /** Extra encoders (your own ONNX models): none. Typed by engine/options.ts, which imports the spec type. */
  customEncoders: [] as readonly never[],
  /** Called after each build with what it did: nothing is. */
  onBuildSummary: undefined,
  search: frozen({
    /** "auto": exact JS search below `annThreshold` images, the faiss ANN index from there on when faiss-node loads. */
    indexBackend: "auto" as "auto" | "faiss" | "js" | "ann",
    /** With "auto", data sets of at least this many images use the ANN index (see README "Performance"). */
    annThreshold: 200_000,
    /** faiss factory string of the ANN index; inner-product metric. */
    annFactory: "HNSW32,Flat",
    /** Candidates the ANN index proposes per query (HNSW's efSearch); all are rescored exactly. */
    annCandidates: 128,
  }),
  embedding: frozen({
    /** Images per onnxruntime run. */
    batchSize: 16,
    /** onnxruntime intra-op threads; 0 = one per core. */
    intraOpNumThreads: 0,
    /** Decoded batches kept ready ahead of onnxruntime (0 = decode, then infer). */
    prefetchBatches: 2,
    /** Images sharp decodes at the same time; 0 = one per core. */
    decodeConcurrency: 0,
    /** Images with more pixels than this are refused (decompression bombs). */
    limitInputPixels: 50_000_000,
  }),
  models: frozen({
    /** undefined: $ENCODER_COMPARE_MODELS_DIR, else ~/.cache/encoder-compare/models. */
    modelsDir: undefined as string | undefined,
    /** Downloads allowed unless this or ENCODER_COMPARE_OFFLINE=1. */
    offline: false,
    /** undefined: $ENCODER_COMPARE_MODEL_BASE_URL, else each model's own URL. */
    modelBaseUrl: undefined as string | undefined,
    /** An unavailable model runs its labelled stand-in unless this or ENCODER_COMPARE_STRICT=1 (which also fails unresolved embeddings image paths). */
    strict: false,
    /** int8 encoders (precision "int8"): dataset images their convolutions are calibrated on (seeded sample). */
    int8CalibrationImages: 32,
    /** int8 encoders are compared with fp32 on this many dataset images (seeded sample) … */
    int8AgreementImages: 200,
    /** … of which this many are queries; the top-10 of each is compared. */
    int8AgreementQueries: 50,
    /** A build warns when an int8 encoder keeps fewer of fp32's top-10 neighbours than this, on average. */
    int8AgreementFloor: 8,
  }),
  /** Fields of a dataset given as an embeddings folder (the object form of `dataset` / `datasets` entries). */
  embeddingsFolder: frozen({
    /** Rows the index proposes per query; all are rescored exactly from the folder's vectors. */
    candidates: 1024,
    /** Rows re-embedded and compared before first use (0: trust the folder unchecked). */
    verifySample: 32,
    /** Seed that picks those rows, so a check can be repeated. */
    verifySeed: 0,
    /** With a faiss index: dataset rows used as queries to estimate its recall against exact search (same seed). */
    recallQueries: 32,
    /** The k of that recall@k estimate. */
    recallK: 10,
    /** A recall@k estimate below this is warned about (the build goes on; the table shows the figure). */
    minRecall: 0.9,
  }),
  map: frozen({
    /** Seed of every random choice in a map (UMAP, PCA, samples): the same seed and data draw the same bytes. */
    mapSeed: 42,
    /** Neighbours per image in UMAP's graph (larger: more global structure, less local detail). */
    mapNeighbors: 15,
    /** UMAP's minimum distance between points in the map (smaller: tighter clusters). */
    mapMinDist: 0.1,
    /** UMAP optimisation epochs; 0: by size, as umap-js chooses (500 up to 2,500 images … 200 above 7,500). */
    mapEpochs: 0,
    /** Dimensions of the PCA subspace the neighbour graph is computed in, for large datasets. */
    mapPcaDims: 50,
    /** From this many images on, the neighbour graph is computed after PCA to mapPcaDims (below: in the full space). */
    mapPcaFrom: 5_000,
    /** Above this many images, a map lays out a seeded sample of this size plus every query's neighbours, and says so. */
    mapMaxPoints: 20_000,
    /** k of the faithfulness figure: a point's k nearest in the full space vs on the map. */
    mapFaithfulnessK: 10,
    /** Points the faithfulness figure is measured on; a seeded sample when the map has more. */
    mapFaithfulnessSample: 1_000,
    /** Nearest images (by cosine) a query is placed among. */
    mapPlaceNeighbors: 15,
  }),
  /**
   * Bounds on what a dataset's own data can make a build do (README "Security model"). Strings (manifest.json,
   * manifest.csv, parquet metadata, file names) longer than their cap are cut with "…" when read, and the build warns
   * once per dataset. Not options: they bound what a page can hold.
   */
  datasetLimits: frozen({
    /** Ids (a manifest's id, else its file; a parquet id or image_path). */
    maxIdChars: 256,
    /** Captions (also the alt text of a result). */
    maxCaptionChars: 1_000,
    /** Groups (the relevance key of encoderEval). */
    maxGroupChars: 256,
    /** A url longer than this is not fetched at all (a cut URL names another resource). */
    maxUrlChars: 4_096,
    /** A parquet metadata column whose chunk decodes to more bytes than this is not read (one value decodes its page). */
    maxMetadataChunkBytes: 256 * 1024 ** 2,
    /** Folders nested deeper than this below a dataset folder are not listed (skipped and counted). */
    maxFolderDepth: 64,
    /** A manifest.json or manifest.csv larger than this is refused (it is parsed whole, in memory). */
    maxManifestBytes: 64 * 1024 ** 2,
  }),
  /** Not options: what the build reads and decodes of one image file (README "Security model"). */
  images: frozen({
    /** Dataset members above this many bytes are skipped, query images above it refused. */
    maxImageBytes: 256 * 1024 ** 2,
    /**
     * Most pixels one image's preprocessing may hold in any one buffer (decoded region, half-resized rows, output).
     * Normal images need a small fraction of it; a 1×100000 strip enlarged to a 224-wide shortest edge would need
     * 224×22,400,000 if resized whole, so only the part that survives the crop is decoded, and anything still over
     * this is refused.
     */
    maxWorkPixels: 16_000_000,
  }),
  /**
   * Not options: deadlines and caps every fetch runs under, sized for a 350 MB model over a slow link. The
   * ENCODER_COMPARE_CONNECT_TIMEOUT, _REPLY_TIMEOUT, _STALL_TIMEOUT and _MIN_SPEED variables override the first four.
   */
  net: frozen({
    /** TCP (and TLS) connection established within this long. */
    connectTimeoutMs: 10_000,
    /** Once connected, the reply's status line and headers arrive within this long. */
    replyTimeoutMs: 10_000,
    /** A reply that sends no byte for this long is stalled. */
    stallTimeoutMs: 30_000,
    /** Over every window of `throughputWindowMs`, at least this many bytes per second arrive. */
    minBytesPerSecond: 10_000,
    throughputWindowMs: 30_000,
    /** Redirects followed, each checked against the URL policy. */
    maxRedirects: 5,
  }),
  /** Not options: how a model file download behaves when its caller does not say (EnsureOptions). */
  downloads: frozen({
    /** Resumptions after a stall or a dropped connection, within one call. */
    retries: 2,
    /** Wait before the n-th resumption: n × this. */
    retryDelayMs: 1_000,
    /** A lock file untouched for this long, whose holder is gone, is taken over. */
    lockStaleMs: 10 * 60_000,
    /** How often a lock held by another process is looked at. */
    lockPollMs: 500,
    /** Cap on a file with no pinned size and no maxBytes in its spec. */
    maxUnpinnedBytes: 4 * 1024 ** 3,
    /** A failed download is remembered for this long and not tried again (ENCODER_COMPARE_MODEL_RETRY_AFTER, seconds, overrides). */
    unavailableRetryMs: 60 * 60_000,
  }),
  /** Not options: images an embeddings folder names by URL, fetched when a page shows them. */
  imageFetch: frozen({
    /** Overall deadline of one try. */
    timeoutMs: 30_000,
    /** A reply larger than this is cut off and the image not shown. */
    maxBytes: 25 * 1024 ** 2,
    /** Tries in all, after a network error, a deadline, 408, 429 or 5xx. */
    attempts: 3,
    /** Wait before the second try; doubles for each later one. */
    backoffMs: 500,
  }),
  /** Not options: `encoder-compare dataset import jina-memes` (its flags override the first ones). */
  importer: frozen({
    /** memes.json of Jina's meme search example (--url, or $ENCODER_COMPARE_DATASET_URL). */
    memesUrl: "https://jina-examples-datasets.s3.amazonaws.com/memes/memes.json",
    /** Dataset folder written, relative to the working folder (--out). */
    out: "content/datasets/jina-memes",
    /** Memes sampled (--limit). */
    limit: 10_000,
    /** Shuffle seed, as in the 2021 backend (--seed). */
    seed: 42,
    /** Image downloads at the same time (--concurrency). */
    concurrency: 8,
    /** Extra tries after a network error, a deadline, 429 or 5xx (--retries) … */
    retries: 3,
    /** … at most this many. */
    maxRetries: 10,
    /** Wait before the second try; doubles for each later one. */
    backoffMs: 500,
    /** Overall deadline of one image fetch. */
    timeoutMs: 30_000,
    /** Overall deadline of the memes.json fetch, at least (a larger timeoutMs wins). */
    memesJsonTimeoutMs: 120_000,
    /** An image reply larger than this is cut off and the image reported as failed. */
    maxImageBytes: 20 * 1024 ** 2,
    /** A memes.json reply larger than this ends the import. */
    maxMemesJsonBytes: 1024 ** 3,
  }),
  /** Not options: the `encoderEval` shortcode's keywords and the `eval` command's --k, when not given. */
  eval: frozen({
    /** Cut-off of P@k and R@k (at most maxK). */
    k: 10,
    /** Rows of "where they disagree" (0 leaves the section out) … */
    disagreements: 3,
    /** … at most this many. */
    maxDisagreements: 20,
    /** Results shown per encoder in a disagreement row (at most k). */
    disagreementResults: 5,
    /** A lead is called significant below this two-sided sign-test p-value, against every other encoder. */
    significanceLevel: 0.05,
  }),
  /** Not options: every warning that names a list (skipped images, pages, files). */
  warnings: frozen({
    /** Items named before "and N more"; the whole list goes to a report file under the cache folder. */
    listLimit: 10,
  }),
  /** Not options: the SQLite embedding store under cacheDir. */
  store: frozen({
    /** How long opening or writing the store waits while another process (a second build, a CLI command) holds it. */
    busyTimeoutMs: 10_000,
  }),
  /** Not options: a page's own source, read for its shortcode tags (stand-in page data, keyword messages). */
  pages: frozen({
    /** A page source larger than this is not read (the checked reader refuses it). */
    maxSourceBytes: 16 * 1024 ** 2,
  }),
  /** Not options: graphs the project converts from downloaded weights. */
  converters: frozen({
    /** ONNX opset of the BiT graph converted from timm's safetensors. */
    bitOpset: 18,
  }),
  output: frozen({
    /** Folder under the site output where montages and thumbnails are written. */
    outputSubdir: "encoder-compare",
    /** Edge of one result tile in CSS pixels (the 2× image doubles it). */
    tileSize: 160,
    /** Address Eleventy's preview server (npm start) listens on: this machine only; "0.0.0.0" or "::" shows it to the network. */
    previewHost: "127.0.0.1",
  }),
});

/** The option groups, each a set of flat option names that also work at the top level (aliases kept for old configs). */
export const OPTION_GROUPS = ["search", "embedding", "models", "output", "map"] as const;
