/**
 * Prints the classification logits of a model directory plus an adapter
 * folder from a trainer checkpoint (adapter + head of the same name) for a
 * few sentences, as JSON: used by tools/reference/check_trainer_checkpoint.py
 * to check that Python's BertAdapterModel.load_adapter reads the checkpoint
 * and computes the same logits.
 *
 *   npx tsx scripts/checkpoint-logits.ts <model dir> <checkpoint>/<adapter>
 */
import { AutoAdapterModel, noGrad, setBackend, tidy, type HfTokenizer } from '@adapterkit/core';
import '@adapterkit/method-bottleneck';

const [modelDir, adapterDir] = process.argv.slice(2);
setBackend('cpu-ref');
const model = await AutoAdapterModel.fromPretrained(modelDir!, { onWarning: () => {} });
const name = await model.loadAdapter(adapterDir!, { setActive: true });
model.eval();
const tok = model.tokenizer as HfTokenizer;
const sentences = ['the movie is good', 'a bad film and the worst story', 'it is funny , not a bad movie'];
const batch = tok.encodeBatch(sentences);
const logits = noGrad(() => tidy(() => model.forward({ inputIds: batch.inputIds, attentionMask: batch.attentionMask, tokenTypeIds: batch.tokenTypeIds }).logits));
console.log(JSON.stringify({ adapter: name, head: model.activeHead, input_ids: batch.encodings.map((e) => e.ids), logits: Array.from(logits.dataSync()) }));
