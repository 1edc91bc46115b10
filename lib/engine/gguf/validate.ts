/** What llama.cpp's loader needs from a model beyond a well-formed file: {@link validateForLlama}. */
import { ggufError, type GgufErrorReason } from './error.js';
import { GgufValueType, LLAMA_MAX_EXPERTS, LLAMA_MAX_LAYERS, ggufTypeName } from './format.js';
import { MAX_CHAT_TEMPLATE_BYTES, MAX_CONTEXT_LENGTH, MAX_TOKEN_BYTES } from './limits.js';
import type { GgufInfo } from './types.js';

/** Architectures known to llama.cpp at the pinned commit (LLM_ARCH_NAMES in src/llama-arch.cpp). */
export const LLAMA_CPP_ARCHITECTURES: readonly string[] = [
  'clip', 'llama', 'llama4', 'deci', 'falcon', 'grok', 'gpt2', 'gptj', 'gptneox', 'mpt', 'baichuan',
  'starcoder', 'refact', 'bert', 'modern-bert', 'nomic-bert', 'nomic-bert-moe', 'neo-bert',
  'jina-bert-v2', 'jina-bert-v3', 'eurobert', 'bloom', 'stablelm', 'qwen', 'qwen2', 'qwen2moe',
  'qwen2vl', 'qwen3', 'qwen3moe', 'qwen3next', 'qwen3vl', 'qwen3vlmoe', 'qwen35', 'qwen35moe',
  'qwen4exp', 'phi2', 'phi3', 'phimoe', 'plamo', 'plamo2', 'plamo3', 'codeshell', 'orion', 'internlm2',
  'minicpm', 'minicpm3', 'gemma', 'gemma2', 'gemma3', 'gemma3n', 'gemma4', 'gemma4-assistant',
  'gemma-embedding', 'starcoder2', 'mamba', 'mamba2', 'jamba', 'falcon-h1', 'xverse', 'command-r',
  'cohere2', 'cohere2moe', 'dbrx', 'olmo', 'olmo2', 'olmoe', 'muse-glimmer', 'openelm', 'arctic',
  'deepseek', 'deepseek2', 'deepseek2-ocr', 'deepseek32', 'deepseek4', 'chatglm', 'glm4', 'glm4moe',
  'glm-dsa', 'bitnet', 't5', 't5encoder', 'jais', 'jais2', 'nemotron', 'nemotron_h', 'nemotron_h_moe',
  'exaone', 'exaone4', 'exaone-moe', 'rwkv6', 'rwkv6qwen2', 'rwkv7', 'arwkv7', 'granite', 'granitemoe',
  'granitehybrid', 'graniteswitch', 'granite_swa', 'chameleon', 'wavtokenizer-dec', 'plm', 'bailingmoe',
  'bailingmoe2', 'bailingmoe3', 'dots1', 'dots3note', 'arcee', 'afmoe', 'laguna', 'ernie4_5',
  'ernie4_5-moe', 'hunyuan-moe', 'hunyuan-dense', 'hunyuan_vl', 'hy_v3', 'smollm3', 'gpt-oss', 'lfm2',
  'lfm2moe', 'dream', 'smallthinker', 'llada', 'llada-moe', 'seed_oss', 'grovemoe', 'apertus',
  'minimax-01', 'minimax-m2', 'minimax-m3', 'cogvlm', 'rnd1', 'pangu-embedded', 'mistral3', 'eagle3',
  'dflash', 'mistral4', 'paddleocr', 'mimo2', 'step35', 'llama-embed', 'maincoder', 'kimi-linear',
  'kimi-k3', 'talkie', 'mellum', 'nanbeige', 'qwen3tts', 'pockettts',
];
const KNOWN_ARCHS = new Set(LLAMA_CPP_ARCHITECTURES);

/** Architectures whose loader expects exactly the llama tensor set checked by {@link validateForLlama}. */
const LLAMA_LAYOUT_ARCHS = new Set(['llama', 'llama-embed']);

/** tokenizer.ggml.model values llama.cpp's vocab loader accepts. */
const TOKENIZER_MODELS = new Set(['llama', 'bert', 'gpt2', 'hybriddna', 'whitespace', 't5', 'rwkv', 'plamo2', 'gemma4', 'none', 'no_vocab']);

export interface ValidateOptions {
  /** The file will be loaded with vocab_only: hyperparameters and tensors are not needed. */
  vocabOnly?: boolean;
}

/**
 * Checks that llama.cpp can load the model described by `info` (from {@link readGgufHeader}) without
 * failing or, worse, aborting: a known architecture (not the `clip` projector), the required
 * hyperparameters with sane values (block count 1..512, expert counts — llama.cpp asserts on them), a tokenizer it knows
 * with a token list whose entries are unique (duplicates abort llama.cpp) and scores / token types
 * covering it, and for the llama layout every tensor with the shape llama.cpp's loader will ask for.
 * Also the caps on sizes the file claims: token texts and merges ({@link MAX_TOKEN_BYTES}), the chat
 * template ({@link MAX_CHAT_TEMPLATE_BYTES}) and the context length ({@link MAX_CONTEXT_LENGTH}).
 *
 * @throws a GgufError (see ggufError) with reason UNSUPPORTED_ARCH, BAD_METADATA or BAD_TENSOR.
 */
export function validateForLlama(info: GgufInfo, path: string = info.path, options: ValidateOptions = {}): void {
  const m = info.metadata;
  const types = info.metadataTypes;
  const fail = (code: GgufErrorReason, detail: string): never => {
    throw ggufError(code, path, detail);
  };
  const describeType = (k: string) => {
    const t = types.get(k)!;
    return ggufTypeName(t.type, t.elementType);
  };
  const requireUint = (k: string, min: number, max = 0xffffffff): number => {
    if (!m.has(k)) fail('BAD_METADATA', `missing required metadata key '${k}'`);
    const v = m.get(k);
    if (typeof v !== 'number' || !Number.isInteger(v)) fail('BAD_METADATA', `metadata key '${k}' must be an integer but is ${describeType(k)}`);
    const n = v as number;
    if (n < min || n > max) fail('BAD_METADATA', `metadata key '${k}' is ${n}, expected ${min}..${max}`);
    return n;
  };
  const optionalUint = (k: string, min: number, max = 0xffffffff): number | null => (m.has(k) ? requireUint(k, min, max) : null);

  // Architecture
  if (!m.has('general.architecture')) fail('BAD_METADATA', `missing required metadata key 'general.architecture'`);
  const arch = m.get('general.architecture');
  if (typeof arch !== 'string') fail('BAD_METADATA', `metadata key 'general.architecture' must be a string but is ${describeType('general.architecture')}`);
  const a = arch as string;
  if (a === 'clip') fail('UNSUPPORTED_ARCH', `architecture 'clip' is a vision projector (mmproj), not a language model`);
  if (!KNOWN_ARCHS.has(a)) fail('UNSUPPORTED_ARCH', `unsupported architecture '${a}': the llama.cpp in this build does not know it`);

  // Tokenizer
  checkTokenizer(info, fail, describeType);
  const chat = types.get('tokenizer.chat_template');
  if (chat && chat.type !== GgufValueType.STRING) fail('BAD_METADATA', `metadata key 'tokenizer.chat_template' must be a string but is ${describeType('tokenizer.chat_template')}`);
  const templateBytes = chat ? Buffer.byteLength(m.get('tokenizer.chat_template') as string) : 0;
  if (templateBytes > MAX_CHAT_TEMPLATE_BYTES) fail('BAD_METADATA', `tokenizer.chat_template is ${templateBytes} bytes long; at most ${MAX_CHAT_TEMPLATE_BYTES} are allowed`);
  if (options.vocabOnly) return;

  // Hyperparameters
  const nLayer = requireUint(`${a}.block_count`, 1, LLAMA_MAX_LAYERS);
  const nEmbd = requireUint(`${a}.embedding_length`, 1);
  requireUint(`${a}.context_length`, 1, MAX_CONTEXT_LENGTH);
  // Checks that llama.cpp's generic hparams loader asserts (aborts) on, for every architecture.
  optionalUint(`${a}.nextn_predict_layers`, 0, nLayer);
  const nExpert = optionalUint(`${a}.expert_count`, 0, LLAMA_MAX_EXPERTS) ?? 0;
  const usedKey = `${a}.expert_used_count`;
  const usedValue = m.get(usedKey);
  const used = usedValue === undefined ? [0] : Array.isArray(usedValue) ? usedValue : [usedValue];
  if (!used.every((u) => typeof u === 'number' && Number.isInteger(u) && u >= 0)) fail('BAD_METADATA', `metadata key '${usedKey}' must hold non-negative integers`);
  const usedMax = Math.max(0, ...(used as number[]));
  const groups = optionalUint(`${a}.expert_group_count`, 0) ?? 0;
  const groupsUsed = optionalUint(`${a}.expert_group_used_count`, 0) ?? 0;
  if (usedMax > nExpert) fail('BAD_METADATA', `${usedKey} is ${usedMax} but expert_count is ${nExpert}`);
  if (nExpert > 0) {
    if (usedMax === 0) fail('BAD_METADATA', `expert_count is ${nExpert} but ${usedKey} is missing or 0`);
    if (groups >= nExpert) fail('BAD_METADATA', `expert_group_count ${groups} must be less than expert_count ${nExpert}`);
    if (groups > 1 && (nExpert % groups !== 0 || groupsUsed === 0 || groupsUsed >= groups)) {
      fail('BAD_METADATA', `expert groups are inconsistent (expert_count ${nExpert}, expert_group_count ${groups}, expert_group_used_count ${groupsUsed})`);
    }
  } else if (groups !== 0) {
    fail('BAD_METADATA', `expert_group_count is ${groups} but the model has no experts`);
  }
  // ggml asserts eps >= 0 in its norm ops (a NaN fails it too): the process would abort at the first decode.
  for (const key of [`${a}.attention.layer_norm_rms_epsilon`, `${a}.attention.layer_norm_epsilon`]) {
    const e = m.get(key);
    if (typeof e === 'number' && !(Number.isFinite(e) && e >= 0)) fail('BAD_METADATA', `metadata key '${key}' is ${e}, expected a finite number ≥ 0 (llama.cpp would abort on it)`);
  }
  if (!LLAMA_LAYOUT_ARCHS.has(a)) return;

  const nHead = requireUint(`${a}.attention.head_count`, 1);
  const nHeadKv = optionalUint(`${a}.attention.head_count_kv`, 1) ?? nHead;
  if (nHead % nHeadKv !== 0) fail('BAD_METADATA', `attention.head_count ${nHead} is not a multiple of attention.head_count_kv ${nHeadKv}`);
  const nFf = requireUint(`${a}.feed_forward_length`, 1);
  const headK = optionalUint(`${a}.attention.key_length`, 1) ?? nEmbd / nHead;
  const headV = optionalUint(`${a}.attention.value_length`, 1) ?? nEmbd / nHead;
  if (!Number.isInteger(headK) || !Number.isInteger(headV)) fail('BAD_METADATA', `embedding_length ${nEmbd} is not a multiple of attention.head_count ${nHead}`);
  const nRot = optionalUint(`${a}.rope.dimension_count`, 1);
  if (nRot !== null && nRot !== headK) fail('BAD_METADATA', `rope.dimension_count is ${nRot} but the head size is ${headK}`);
  const eps = `${a}.attention.layer_norm_rms_epsilon`;
  if (!m.has(eps)) fail('BAD_METADATA', `missing required metadata key '${eps}'`);
  if (types.get(eps)!.type !== GgufValueType.FLOAT32) fail('BAD_METADATA', `metadata key '${eps}' must be f32 but is ${describeType(eps)}`);

  const nVocab = info.vocabSize ?? 0;
  const tensors = new Map(info.tensors.map((t) => [t.name, t]));
  const expect = (name: string, shape: number[], required = true) => {
    const t = tensors.get(name);
    if (!t) {
      if (required) fail('BAD_TENSOR', `missing tensor '${name}' (the ${a} architecture needs it)`);
      return false;
    }
    const same = t.shape.length >= shape.length && t.shape.every((d, i) => d === (shape[i] ?? 1));
    if (!same) fail('BAD_TENSOR', `tensor '${name}' has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    return true;
  };
  expect('token_embd.weight', [nEmbd, nVocab]);
  expect('output_norm.weight', [nEmbd]);
  expect('output.weight', [nEmbd, nVocab], false);
  const nQ = headK * nHead;
  const nKv = headK * nHeadKv;
  const nV = headV * nHeadKv;
  for (let i = 0; i < nLayer; i++) {
    const b = `blk.${i}`;
    expect(`${b}.attn_norm.weight`, [nEmbd]);
    if (!expect(`${b}.attn_qkv.weight`, [nEmbd, nQ + nKv + nV], false)) {
      expect(`${b}.attn_q.weight`, [nEmbd, nQ]);
      expect(`${b}.attn_k.weight`, [nEmbd, nKv]);
      expect(`${b}.attn_v.weight`, [nEmbd, nV]);
    }
    expect(`${b}.attn_output.weight`, [nQ, nEmbd]);
    expect(`${b}.ffn_norm.weight`, [nEmbd]);
    if (nExpert === 0) {
      expect(`${b}.ffn_gate.weight`, [nEmbd, nFf]);
      expect(`${b}.ffn_down.weight`, [nFf, nEmbd]);
      expect(`${b}.ffn_up.weight`, [nEmbd, nFf]);
    } else {
      expect(`${b}.ffn_gate_inp.weight`, [nEmbd, nExpert]);
      expect(`${b}.ffn_down_exps.weight`, [nFf, nEmbd, nExpert]);
      expect(`${b}.ffn_up_exps.weight`, [nEmbd, nFf, nExpert]);
    }
  }
  for (const t of info.tensors) {
    const blk = /^blk\.(\d+)\./.exec(t.name);
    if (blk && Number(blk[1]) >= nLayer) fail('BAD_TENSOR', `tensor '${t.name}' belongs to block ${blk[1]} but block_count is ${nLayer}`);
  }
}

function checkTokenizer(info: GgufInfo, fail: (code: GgufErrorReason, detail: string) => never, describeType: (k: string) => string): void {
  const m = info.metadata;
  const model = m.get('tokenizer.ggml.model');
  if (model === undefined) fail('BAD_METADATA', `missing required metadata key 'tokenizer.ggml.model' (the file has no tokenizer)`);
  if (typeof model !== 'string') fail('BAD_METADATA', `metadata key 'tokenizer.ggml.model' must be a string but is ${describeType('tokenizer.ggml.model')}`);
  if (!TOKENIZER_MODELS.has(model as string)) fail('BAD_METADATA', `unknown tokenizer model '${model}'`);
  if (model === 'none' || model === 'no_vocab') return;

  const tokens = m.get('tokenizer.ggml.tokens');
  if (tokens === undefined) fail('BAD_METADATA', `missing required metadata key 'tokenizer.ggml.tokens'`);
  const tt = info.metadataTypes.get('tokenizer.ggml.tokens')!;
  if (!Array.isArray(tokens) || tt.elementType !== GgufValueType.STRING) fail('BAD_METADATA', `metadata key 'tokenizer.ggml.tokens' must be an array of strings but is ${describeType('tokenizer.ggml.tokens')}`);
  const list = tokens as string[];
  if (list.length === 0) fail('BAD_METADATA', `tokenizer.ggml.tokens is empty`);
  if (list.length > 0x7fffffff) fail('BAD_METADATA', `tokenizer.ggml.tokens has too many entries`);
  // llama.cpp asserts that token texts are unique (empty ones become "[EMPTY_<id>]"); it would abort.
  const seen = new Map<string, number>();
  const tooLong = (s: string) => s.length > MAX_TOKEN_BYTES / 3 && Buffer.byteLength(s) > MAX_TOKEN_BYTES;
  for (let i = 0; i < list.length; i++) {
    if (tooLong(list[i]!)) fail('BAD_METADATA', `tokenizer.ggml.tokens: token ${i} is ${Buffer.byteLength(list[i]!)} bytes long; at most ${MAX_TOKEN_BYTES} are allowed`);
    const text = list[i] === '' ? `[EMPTY_${i}]` : list[i]!;
    if (text.includes('\ufffd')) continue; // not valid UTF-8: cannot compare the raw bytes here
    const prev = seen.get(text);
    if (prev !== undefined) fail('BAD_METADATA', `tokenizer.ggml.tokens has the token ${JSON.stringify(text)} twice (ids ${prev} and ${i}); llama.cpp would abort`);
    seen.set(text, i);
  }
  const covering = (key: string, allowed: GgufValueType[]) => {
    const t = info.metadataTypes.get(key);
    if (!t) return;
    if (t.type !== GgufValueType.ARRAY || !allowed.includes(t.elementType!)) {
      fail('BAD_METADATA', `metadata key '${key}' must be an array of ${allowed.map((x) => ggufTypeName(x)).join(' or ')} but is ${describeType(key)}`);
    }
    const n = (m.get(key) as unknown[]).length;
    if (n < list.length) fail('BAD_METADATA', `${key} has ${n} entries but there are ${list.length} tokens`);
  };
  covering('tokenizer.ggml.scores', [GgufValueType.FLOAT32, GgufValueType.INT32]);
  covering('tokenizer.ggml.token_type', [GgufValueType.INT32]);
  if (model === 'gpt2' || model === 'gemma4') {
    const t = info.metadataTypes.get('tokenizer.ggml.merges');
    if (!t && !(model === 'gpt2' && m.get('tokenizer.ggml.pre') === 'kimi-k2')) fail('BAD_METADATA', `missing metadata key 'tokenizer.ggml.merges' (a ${model} tokenizer needs its BPE merges)`);
    if (t && (t.type !== GgufValueType.ARRAY || t.elementType !== GgufValueType.STRING)) fail('BAD_METADATA', `metadata key 'tokenizer.ggml.merges' must be an array of strings but is ${describeType('tokenizer.ggml.merges')}`);
    const merges = (t ? m.get('tokenizer.ggml.merges') : []) as string[];
    const long = merges.findIndex(tooLong);
    if (long >= 0) fail('BAD_METADATA', `tokenizer.ggml.merges: merge ${long} is ${Buffer.byteLength(merges[long]!)} bytes long; at most ${MAX_TOKEN_BYTES} are allowed`);
  }
}

