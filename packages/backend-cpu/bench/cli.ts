/** `pnpm --filter @adapterkit/backend-cpu bench`: runs the GEMM benchmark on its own (results in bench/results/). */
import { benchGemm } from './gemm.js';

await benchGemm();
