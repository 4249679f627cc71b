// The one source of every plugin default, grouped by concern. It stands on the bottom floor and imports nothing, so
// every stage reads its own defaults here without importing the engine; engine/options.ts validates user options
// against it and hands the resolved values down.

/** Object.freeze without its literal typing: a default of 16 is a number, not the type 16. */
const frozen = <T>(object: T): Readonly<T> => Object.freeze(object);

export const DEFAULTS = frozen({
  /** Encoders a shortcode shows when it names none, in table order. */
  encoders: ["pixels", "phash"] as readonly string[],
  /** Folder of dataset images, relative to the project root. Sites name their own (the demo's is set in .eleventy.ts). */
  dataset: "content/datasets",
  /** Results per query. */
  k: 3,
  /** Largest k a shortcode may ask for. */
  maxK: 50,
  /** Leave the query's own file out of its results (and say so). */
  includeSelf: false,
  /** No "Try your own image" control unless asked for. */
  tryIt: false,
  /** Embedding store and other build caches, relative to the project root. */
  cacheDir: ".cache/encoder-compare",
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
