/**
 * Every default of moodaxis in one table, as sharp's lib/constructor.js documents its options: the
 * engine, the method, the protocols, the CLI's option declarations (their `default` and the "(default
 * …)" of their descriptions) and the README refer to these values, and none is written again
 * elsewhere in TypeScript. Native code holds no defaults: TypeScript passes it every value.
 *
 * A leaf module: it imports nothing, so that every layer may read it (lib/stats, which imports nothing
 * from lib, takes these values from its callers).
 */

/** Sampling and capture: the run settings of `generate`, calibration, scoring and every protocol. */
export const RUN_DEFAULTS = Object.freeze({
  /** Run seed; each response's seed derives from it (and its question, pole and tag). Also the seed of the bootstrap CIs of stability, validate and drift. */
  seed: 42,
  /** Sampling temperature (0: greedy). The chain is top-k → temperature → top-p → a seeded draw. */
  temperature: 0.7,
  /** Sample among the k most likely tokens (0: all). */
  topK: 50,
  /** Then among the smallest set holding this probability. */
  topP: 0.9,
  /** New tokens per calibration or evaluation answer, per benchmark and drift answer, and per `generate` answer. */
  maxTokens: 200,
  /** New tokens per baseline answer (fingerprint, stability, steer). */
  baselineMaxTokens: 384,
  /** Tokens a <think> block may hold before `</think>` is forced; maxTokens counts the visible answer. */
  thinkBudget: 1024,
  /** Weight decay from the last generated token backwards when the hidden states are averaged. */
  tokenDecay: 0.9,
});

/**
 * Sequences generated at once, per backend. On CUDA the engine takes fewer where the KV cache of that many
 * of a call's requests would take over half the free GPU memory (fittingParallel in lib/engine/model.ts),
 * and halves a default whose context still cannot be created.
 */
export const PARALLEL_DEFAULTS = Object.freeze({ cpu: 16, cuda: 256 });

/** Capture weights of the last blocks (as many of them as there are weights), shallowest first. */
export const CAPTURE_WEIGHTS: readonly number[] = Object.freeze([0.1, 0.2, 0.3, 0.4]);

/** Plain prompt of a model without a chat template, when an axis gives no `promptTemplate`. */
export const PROMPT_TEMPLATE = '{instruction}\n\n{question}';

/** The engine: where a model runs, its context, the chat-template sandbox's budget. */
export const ENGINE_DEFAULTS = Object.freeze({
  gpu: 'auto' as 'auto' | 'cuda' | 'cpu',
  /** Context length at least this many tokens (or the model's training context when larger). */
  minContextSize: 4096,
  /** Per rendering call: ms + msPerPrompt per prompt, heap and stack, and extra characters per prompt. */
  templateBudget: Object.freeze({ ms: 5000, msPerPrompt: 5, heapMb: 256, extraCharacters: 65_536 }),
});

/** llama.cpp's RPC backend: `moodaxis rpc-server` and the `rpc` load option. */
export const RPC_DEFAULTS = Object.freeze({
  /** Where `rpc-server` listens: this host only (the protocol has no authentication or encryption). */
  host: '127.0.0.1',
  /** llama.cpp's rpc-server port. */
  port: 50052,
  /** The devices `rpc-server` serves: CUDA when usable, else the CPU. */
  gpu: 'auto' as 'auto' | 'cuda' | 'cpu',
  /** How long a server may take to accept a connection and answer the protocol's hello before it counts as unreachable. */
  checkTimeoutMs: 5000,
});

/** The protocols' own defaults and thresholds. */
export const PROTOCOL_DEFAULTS = Object.freeze({
  /** Reuse (and store) calibrated axes in the user's cache. */
  cache: true,
  /** Output folder of the CLI's commands, below the current folder: ./moodaxis-out/<model>. */
  outDir: 'moodaxis-out',
  /** Answers that stopped at the token cap: a warning from this share on. */
  truncationWarnShare: 0.2,
  /** Confidence level of every bootstrap CI of validate and drift. */
  ciLevel: 0.95,
  stability: Object.freeze({
    /** Baseline repetitions (test-retest raters). */
    runs: 5,
    /** Bootstrap resamples of the test-retest ICC's CI. */
    bootstrap: 1000,
    /** Random split-half draws per sample size. */
    draws: 20,
    /** Median split-half cosine at which an axis counts as stable. */
    stableCosine: 0.9,
  }),
  benchmark: Object.freeze({
    /** Score a system-prompt scenario must exceed. */
    threshold: 0.1,
  }),
  compare: Object.freeze({
    /** Largest |Δ mean| allowed before an axis counts as moved (the CLI exits 1). */
    threshold: 0.2,
    /** std_B / std_A below this: B suppresses the axis. */
    suppressedRatio: 0.5,
  }),
  steer: Object.freeze({
    /** Strengths tried (α = 0 is always added). */
    alphas: Object.freeze([-4, -2, 0, 2, 4]) as readonly number[],
    /** Fraction of the mean hidden-state norm h̄ that α = 1 stands for. */
    alphaUnit: 0.1,
    /** Answers per question. */
    repeats: 1,
    /** The α an exported control-vector file holds. */
    exportAlpha: 1,
    /** Word 3-gram repetition at or above this makes an α unusable. */
    repetitionLimit: 0.3,
  }),
  validate: Object.freeze({
    /** Bootstrap resamples of the rated responses. */
    resamples: 10_000,
  }),
  drift: Object.freeze({
    /** Bootstrap resamples of each category's scenarios. */
    resamples: 2000,
  }),
  stats: Object.freeze({
    /** Seed of `moodaxis stats icc --bootstrap`. */
    seed: 0,
  }),
});
