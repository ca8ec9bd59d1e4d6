/** Test helpers shared by the adapterkit packages (private; consumed as source by vitest). */
export { TEST_BACKEND, TEST_BACKEND_HAS_F64 } from './backend-under-test.js';
export { maxAbsDiff, maxAbsDiffHost, readAndDispose, readF32, reporter } from './host.js';
export {
  CORE_FIXTURES, MINILM_DIR, TINY_BERT_DIR, TINY_LLAMA_DIRS, TOL, ids, loadMiniLM, loadTinyBert, loadTinyLlama, readJson,
} from './fixtures.js';
export { readNoGrad } from './forward.js';
