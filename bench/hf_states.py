"""Per-layer hidden states of HF transformers for a llama GGUF (F32 weights), at given token ids.
The GGUF is read with llama.cpp's gguf-py (PYTHONPATH=$MOODAXIS_LLAMA_CPP_SOURCE/gguf-py) and mapped to
LlamaForCausalLM, undoing llama.cpp's Q/K row permutation for rotary embeddings.
Usage: python3 hf_states.py model.gguf ids.json out.json   (ids.json: {"ids": [...], "layers": [...]})"""
import json, sys
import numpy as np
import torch
from gguf import GGUFReader
from transformers import LlamaConfig, LlamaForCausalLM

path, ids_file, out_file = sys.argv[1:4]
spec = json.load(open(ids_file))
reader = GGUFReader(path)

def field(name):
    f = reader.fields[name]
    return f.parts[f.data[0]].tolist()[0]

tensors = {t.name: np.array(t.data, dtype=np.float32) for t in reader.tensors}
d, n_layer = int(field('llama.embedding_length')), int(field('llama.block_count'))
n_head, n_kv = int(field('llama.attention.head_count')), int(field('llama.attention.head_count_kv'))
cfg = LlamaConfig(hidden_size=d, intermediate_size=int(field('llama.feed_forward_length')), num_hidden_layers=n_layer,
                  num_attention_heads=n_head, num_key_value_heads=n_kv, vocab_size=tensors['token_embd.weight'].shape[0],
                  rms_norm_eps=float(field('llama.attention.layer_norm_rms_epsilon')),
                  rope_theta=float(field('llama.rope.freq_base')), max_position_embeddings=4096,
                  tie_word_embeddings='output.weight' not in tensors)

def unpermute(w, heads):
    return w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

sd = {'model.embed_tokens.weight': tensors['token_embd.weight'], 'model.norm.weight': tensors['output_norm.weight']}
if 'output.weight' in tensors:
    sd['lm_head.weight'] = tensors['output.weight']
for i in range(n_layer):
    b, p = f'blk.{i}.', f'model.layers.{i}.'
    sd[p + 'input_layernorm.weight'] = tensors[b + 'attn_norm.weight']
    sd[p + 'self_attn.q_proj.weight'] = unpermute(tensors[b + 'attn_q.weight'], n_head)
    sd[p + 'self_attn.k_proj.weight'] = unpermute(tensors[b + 'attn_k.weight'], n_kv)
    sd[p + 'self_attn.v_proj.weight'] = tensors[b + 'attn_v.weight']
    sd[p + 'self_attn.o_proj.weight'] = tensors[b + 'attn_output.weight']
    sd[p + 'post_attention_layernorm.weight'] = tensors[b + 'ffn_norm.weight']
    sd[p + 'mlp.gate_proj.weight'] = tensors[b + 'ffn_gate.weight']
    sd[p + 'mlp.up_proj.weight'] = tensors[b + 'ffn_up.weight']
    sd[p + 'mlp.down_proj.weight'] = tensors[b + 'ffn_down.weight']
model = LlamaForCausalLM(cfg).float()
missing, unexpected = model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}, strict=False)
assert not unexpected and all('lm_head' in m for m in missing), (missing, unexpected)
model = model.cuda().eval()
ids = torch.tensor([spec['ids']], device='cuda')
with torch.no_grad():
    out = model(ids, output_hidden_states=True)
# hidden_states[0] are the embeddings; hidden_states[l + 1] is the output of block l (the last one is normed)
json.dump({'states': {str(l): out.hidden_states[l + 1][0].float().cpu().tolist() for l in spec['layers']}}, open(out_file, 'w'))
