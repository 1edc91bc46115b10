"""Per-layer hidden states of HF transformers for a GGUF llama (F32), at given token ids.
Usage: python3 hf_states.py model.gguf ids.json out.json  (ids.json: {"ids": [...], "layers": [...]})"""
import json, os, sys
import torch
from transformers import LlamaForCausalLM

path, ids_file, out_file = sys.argv[1:4]
spec = json.load(open(ids_file))
model = LlamaForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path), torch_dtype=torch.float32).cuda().eval()
ids = torch.tensor([spec['ids']], device='cuda')
with torch.no_grad():
    out = model(ids, output_hidden_states=True)
# hidden_states[0] are the embeddings; hidden_states[l + 1] is the output of block l (the last one is normed)
states = {str(l): out.hidden_states[l + 1][0].float().cpu().tolist() for l in spec['layers']}
json.dump({'states': states}, open(out_file, 'w'))
