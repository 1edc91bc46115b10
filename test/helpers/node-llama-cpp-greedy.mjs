// An independent greedy reference: node-llama-cpp (its own prebuilt addon over the same llama.cpp
// commit), run in a child process so its logger and backend state stay out of the test process.
//   node node-llama-cpp-greedy.mjs MODEL TEXT N  ->  {"trimmed": [...], "completion": "...", "greedy": [...]}
// trimmed: the prompt as LlamaCompletion feeds it (BOS, then the text without SentencePiece's dummy
// space); completion: LlamaCompletion's greedy text; greedy: N greedy token ids after llama.cpp's own
// tokenization of the text (BOS + dummy space), the way moodaxis tokenizes a prompt.
import { getLlama, LlamaCompletion } from 'node-llama-cpp';

const [modelPath, text, n] = process.argv.slice(2);
// one thread: llama.cpp's spinning worker threads on a busy 2-core machine took minutes instead of seconds
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error', maxThreads: 1 });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: 128, threads: 1 });
const trimmed = [model.tokens.bos, ...model.tokenize(text, false, 'trimLeadingSpace')];
const completion = await new LlamaCompletion({ contextSequence: context.getSequence() }).generateCompletion(text, {
  maxTokens: Number(n), temperature: 0, repeatPenalty: false,
});
await context.dispose();
const context2 = await model.createContext({ contextSize: 128, threads: 1 });
const seq = context2.getSequence();
const greedy = [];
for await (const token of seq.evaluate([model.tokens.bos, ...model.tokenize(text, false)], { temperature: 0 })) {
  greedy.push(token);
  if (greedy.length >= Number(n)) break;
}
console.log(JSON.stringify({ trimmed, completion, greedy }));
await context2.dispose();
await model.dispose();
