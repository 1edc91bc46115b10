"""The reference study's way, on the same Llama-3-8B shape with random weights in bf16 (HF transformers):
one response at a time (sampled generate, then a forward pass with output_hidden_states), and batched
generate. Prints one JSON object. Usage: python3 reference_hf.py [--responses 3] [--batch 32] [--tokens 200]"""
import argparse, json, time
import torch
from transformers import LlamaConfig, LlamaForCausalLM

p = argparse.ArgumentParser()
p.add_argument('--responses', type=int, default=3)
p.add_argument('--batch', type=int, default=32)
p.add_argument('--tokens', type=int, default=200)
p.add_argument('--prompt', type=int, default=64)
a = p.parse_args()

cfg = LlamaConfig(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                  num_key_value_heads=8, vocab_size=128256, max_position_embeddings=8192, rope_theta=500000.0)
torch.manual_seed(0)
t0 = time.time()
torch.set_default_dtype(torch.bfloat16)
with torch.device('cuda'):
    model = LlamaForCausalLM(cfg)
model.eval()
load_s = time.time() - t0
gen = dict(do_sample=True, temperature=0.7, top_p=0.9, top_k=50, min_new_tokens=a.tokens, max_new_tokens=a.tokens, pad_token_id=0)
prompt = torch.randint(1000, 100000, (1, a.prompt), device='cuda')

def one_response():
    with torch.no_grad():
        out = model.generate(prompt, **gen)
        model(out, output_hidden_states=True)
    torch.cuda.synchronize()

one_response()  # warm-up
t0 = time.time()
for _ in range(a.responses):
    one_response()
per_response = (time.time() - t0) / a.responses

batch = torch.randint(1000, 100000, (a.batch, a.prompt), device='cuda')
with torch.no_grad():
    model.generate(batch[:2], **{**gen, 'min_new_tokens': 8, 'max_new_tokens': 8})
    torch.cuda.synchronize()
    t0 = time.time()
    model.generate(batch, **gen)
    torch.cuda.synchronize()
batched_s = time.time() - t0
print(json.dumps({
    'device': torch.cuda.get_device_name(0), 'torch': torch.__version__, 'init_s': load_s,
    'per_response_s': per_response, 'per_response_tok_s': a.tokens / per_response,
    'batched': a.batch, 'batched_s': batched_s, 'batched_tok_s': a.batch * a.tokens / batched_s,
}))
